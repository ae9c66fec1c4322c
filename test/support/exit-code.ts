/**
 * The exit status of a child run by `execFile`: a killed child (a timeout, a signal) has no numeric code and gets
 * -1, so that it can never pass for a clean exit 0 (`Number(null)` is 0).
 */
export function exitCode(err: { code?: unknown } | null): number {
  if (err === null) return 0;
  return typeof err.code === 'number' ? err.code : -1;
}
