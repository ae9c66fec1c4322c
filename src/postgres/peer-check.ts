// pg is an optional peer dependency: an application that imports watch-manager/postgres without it gets one clear
// line instead of a bare MODULE_NOT_FOUND from deep inside the entry. Imported first by the entry.
try {
  require.resolve('pg');
} catch {
  throw new Error("watch-manager/postgres needs the optional peer dependency 'pg' (node-postgres): npm install pg");
}

export {};
