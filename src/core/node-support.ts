/**
 * Which Node.js release lines this SDK runs on, and its one warning on a line past its end of life: a warning, not a
 * refusal (the suite still passes there: stopping a running agent would do more harm than good), and once per
 * process (a manager built per request would bury its logs). The version, time and emitter are injectable.
 */
import { systemClock } from './clock';

/**
 * The day upstream support of each Node.js major ends (YYYY-MM-DD, UTC), from the Node.js release schedule. A major
 * newer than the newest here counts as supported (it was released after this table was written, so it is not past
 * any end of life we know); one older than the oldest here is not one this package can run on at all.
 * Odd majors are never LTS: they end two months after the next even one is released.
 */
export const END_OF_LIFE: Readonly<Record<number, string>> = Object.freeze({
  14: '2023-04-30',
  15: '2021-06-01',
  16: '2023-09-11',
  17: '2022-06-01',
  18: '2025-04-30',
  19: '2023-06-01',
  20: '2026-04-30',
  21: '2024-06-01',
  22: '2027-04-30',
  23: '2025-06-01',
  24: '2028-04-30',
  25: '2026-06-01',
  26: '2029-04-30',
});

/**
 * The oldest major this package supports: the major of `engines.node` in package.json (a unit test holds the two
 * together). Below it the warning says so instead of "supported for now".
 */
export const OLDEST_SUPPORTED_MAJOR = 20;

/** The code of the warning, for `--disable-warning=WATCH_MANAGER_NODE_EOL` and `process.on('warning')` filters. */
export const NODE_EOL_WARNING_CODE = 'WATCH_MANAGER_NODE_EOL';

/** What {@link warnIfEndOfLife} calls: the shape of `process.emitWarning(message, { code })`. */
export type WarningEmitter = (message: string, options: { code: string }) => void;

/** `v20.20.2`, `20.20.2`, `v26.0.0-nightly…`: the major, or undefined for anything else ('', 'v', 'abc'). */
function majorOf(version: unknown): number | undefined {
  if (typeof version !== 'string') return undefined;
  const match = /^v?(\d+)\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.exec(version);
  return match === null ? undefined : Number(match[1]);
}

/** Midnight UTC of a `YYYY-MM-DD` day, in milliseconds since the epoch (a date-only string parses as UTC). */
function dayStart(day: string): number {
  return Date.parse(day);
}

/**
 * The end-of-life date (`YYYY-MM-DD`) of the Node.js line of `version` when `now` is on or after it; `undefined`
 * while the line is supported, for a major newer than {@link END_OF_LIFE} knows, or for a version string that does
 * not parse (never a throw: this runs in a constructor, where a strange runtime must not stop an application).
 */
export function endOfLife(version: string, now: number): string | undefined {
  const major = majorOf(version);
  if (major === undefined || !Number.isFinite(now)) return undefined;
  const day = END_OF_LIFE[major];
  if (day === undefined) return undefined;
  return now >= dayStart(day) ? day : undefined;
}

/** The oldest LTS (even) major of the table still supported at `now`, to name in the advice; undefined if none. */
function oldestSupportedLts(now: number): number | undefined {
  return Object.keys(END_OF_LIFE)
    .map(Number)
    .filter((major) => major % 2 === 0 && now < dayStart(END_OF_LIFE[major] as string))
    .sort((a, b) => a - b)[0];
}

/**
 * The warning's text for `version` at `now`, or `undefined` when there is nothing to say. Names the line's end of life
 * and the oldest LTS line still supported, so the advice does not go stale as the table grows.
 */
export function endOfLifeMessage(version: string, now: number): string | undefined {
  const day = endOfLife(version, now);
  if (day === undefined) return undefined;
  const major = majorOf(version) as number;
  const target = oldestSupportedLts(now);
  const advice = target === undefined ? 'upgrade to a supported Node.js' : `upgrade to Node.js ${target} or newer`;
  const stance =
    major >= OLDEST_SUPPORTED_MAJOR ? 'watch-manager supports it for now' : 'watch-manager does not support it';
  return `Node.js ${version} reached its end of life on ${day}: ${stance}, ${advice} (see docs/operations.md#supported-nodejs-versions)`;
}

/**
 * Set on `globalThis` under a registry symbol, not in a module variable: two copies of this package in one process
 * (an application and a library each depending on it) still warn once (the brand habit of Temporal's SDK, #863).
 */
const WARNED = Symbol.for('watch-manager.nodeEndOfLifeWarned');

/**
 * Takes the once-per-process warning for a caller that tells it in its own way (`watch-tail` says it in one line of
 * its own, not as a Node.js process warning): returns the message when `version`'s line is past its end of life at
 * `now` and nobody told it yet, and marks it as told, so that {@link warnIfEndOfLife} (the manager's constructor)
 * stays silent in this process. `undefined` when there is nothing to tell or it was told already. Never throws.
 */
export function takeEndOfLifeWarning(
  version: string = process.version,
  now: number = systemClock.now(),
): string | undefined {
  const flags = globalThis as { [WARNED]?: true };
  if (flags[WARNED] === true) return undefined;
  const message = endOfLifeMessage(version, now);
  if (message !== undefined) flags[WARNED] = true;
  return message;
}

/**
 * Emits a Node.js warning (code {@link NODE_EOL_WARNING_CODE}) when `version`'s line is past its end of life at
 * `now`, at most once per process; returns whether it emitted. Every argument is injectable so that tests need
 * neither an old Node.js nor a changed clock. Never throws: a bad version string, or an emitter that throws, is
 * ignored (a warning is never worth failing the caller for).
 */
export function warnIfEndOfLife(
  version: string = process.version,
  now: number = systemClock.now(),
  emit: WarningEmitter = (message, options) => process.emitWarning(message, options),
): boolean {
  const message = takeEndOfLifeWarning(version, now);
  if (message === undefined) return false;
  try {
    emit(message, { code: NODE_EOL_WARNING_CODE });
  } catch {
    // A warning that cannot be told is not worth an exception in the caller's constructor.
  }
  return true;
}
