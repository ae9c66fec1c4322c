// @opentelemetry/api is an optional peer dependency: an application that imports watch-manager/opentelemetry without
// it gets one clear line instead of a bare MODULE_NOT_FOUND from deep inside the entry. Imported first by the entry.
try {
  require.resolve('@opentelemetry/api');
} catch {
  throw new Error(
    "watch-manager/opentelemetry needs the optional peer dependency '@opentelemetry/api': npm install @opentelemetry/api",
  );
}

export {};
