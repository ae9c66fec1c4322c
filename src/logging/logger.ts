import winston from 'winston';
import { redactSecrets } from './redact';

/** The levels the SDK logs at. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * What the SDK needs of a logger: four levels, each taking a message and its structured fields. winston (the
 * default), pino and `console` all fit.
 */
export interface Logger {
  /** A failure the application must know about (a watch stopped, a listener threw). */
  error(message: string, fields?: Record<string, unknown>): void;
  /** Something recovered from, or a setting to look at (a retryable error, plaintext, an unknown event type). */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** The lifecycle of a watch (subscribed, reconnecting). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Wire detail (pings, pages, token refreshes): never in production by default. */
  debug(message: string, fields?: Record<string, unknown>): void;
}

/** The structured fields of a log line. Values are scrubbed of secrets before they reach the logger. */
type LogFields = Record<string, string | number | boolean | undefined>;

/**
 * The SDK's internal logging surface. Every line goes through {@link redactSecrets} here, whatever logger the user
 * passed in, so that a token can never reach a log sink even if some message were built carelessly.
 */
export interface Log {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Logs `message` at warn level the first time `key` is seen on this Log, never again. */
  warnOnce(key: string, message: string, fields?: LogFields): void;
}

/**
 * The default logger: winston, on stderr only (stdout belongs to the application), level `warn` so that a healthy
 * watch is silent. `stream` replaces stderr (the CLI's tests capture it).
 */
export function createDefaultLogger(level: LogLevel = 'warn', stream?: NodeJS.WritableStream): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.printf((info) => {
        const { level: lvl, message, timestamp, ...rest } = info;
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
        return `${String(timestamp)} ${lvl} watch-manager: ${String(message)}${extra}`;
      }),
    ),
    transports: [
      stream === undefined
        ? new winston.transports.Console({
            stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
          })
        : new winston.transports.Stream({ stream }),
    ],
  });
}

/** Wraps a {@link Logger} into a redacting {@link Log}. */
export function createLog(logger: Logger): Log {
  const warned = new Set<string>();
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    const clean: Record<string, string | number | boolean> = {};
    if (fields !== undefined) {
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        clean[key] = typeof value === 'string' ? redactSecrets(value) : value;
      }
    }
    try {
      logger[level](redactSecrets(message), clean);
    } catch {
      // A broken user logger must not break the watch.
    }
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    warnOnce(key, m, f) {
      if (warned.has(key)) return;
      warned.add(key);
      emit('warn', m, f);
    },
  };
}
