// The checks every option and argument goes through: each throws `WatchError('INVALID_CONFIG')` naming the field
// (`what` says whether it is an option or an argument). Values are judged with `=== undefined`, never truthiness.
import { WatchError } from './errors';

/** The error for a wrong `field`. */
export function invalid(field: string, problem: string, what = 'option'): WatchError {
  return new WatchError('INVALID_CONFIG', `invalid ${what} '${field}': ${problem}`);
}

/** An absolute http(s) URL without credentials: the history API's or a token endpoint's. */
export function httpUrl(value: unknown, field: string, what = 'option'): URL {
  const text = nonEmptyString(value, field, what);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(field, 'must be an absolute http(s) URL', what);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(field, 'must be an http(s) URL', what);
  if (url.username !== '' || url.password !== '') throw invalid(field, 'must not carry credentials', what);
  return url;
}

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses keys not in `allowed`, so that a typo fails instead of being ignored. */
export function checkKeys(value: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`${prefix}${key}`, 'unknown option');
  }
}

/** A string with something in it and no line breaks (it may end up in a header). */
export function nonEmptyString(value: unknown, field: string, what = 'option'): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, 'must be a non-empty string', what);
  if (/[\r\n\0]/.test(value)) throw invalid(field, 'must not contain line breaks or NUL', what);
  return value;
}

/** A whole number of milliseconds in [min, max], or the default when undefined (never a truthiness check). */
export function duration(value: unknown, field: string, fallback: number, min = 1, max = 2_147_483_647, what = 'option'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, 'must be a whole number', what);
  if (value < min || value > max) throw invalid(field, `must be between ${min} and ${max}`, what);
  return value;
}
