/**
 * Scrubbing of secrets from any text the SDK writes: log lines, error messages, causes.
 *
 * Two layers, because either alone misses something: patterns catch every JWT, `Bearer` value, `Authorization`
 * header and `user:password@` URL whatever its origin; the registry catches opaque (non-JWT) tokens and passwords
 * the SDK was handed, by exact value.
 */

const MASK = '[REDACTED]';

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // A JWT: three base64url segments, the first two starting with '{"' encoded.
  [/eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, MASK],
  // Case-sensitive on purpose: 'basic' is also an English word.
  [/\b([Bb]earer|BEARER|Basic|BASIC)\s+(?!\[REDACTED\])[^\s,;"']+/g, `$1 ${MASK}`],
  // An Authorization or Proxy-Authorization value of any scheme, whole: the scheme word, the credentials, and
  // `key="value"` parameters (Digest, AWS, Negotiate…), raw or inside a JSON string; never only the scheme word
  // (`Authorization: Token s3cr3t` must not become `[REDACTED] s3cr3t`).
  [
    /((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?!\[REDACTED\])(?![A-Za-z][\w.+-]*\s+\[REDACTED\])(?:[A-Za-z][\w.+-]*\s+)?(?:[^\s,;"'\\]+|\\?"[^"\r\n\\]*\\?")+(?:\s*,\s*[\w-]+=(?:\\?"[^"\r\n\\]*\\?"|[^\s,;"'\\]+))*/gi,
    `$1${MASK}`,
  ],
  // Credentials in a URL: scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]*@/gi, `$1:${MASK}@`],
];

// Rotating values (tokens) are bounded so that a process that refreshes tokens for months does not grow the list
// without limit; pinned ones (passwords, client secrets: few, and alive as long as the process) are never dropped.
const MAX_KNOWN = 64;
const known: string[] = [];
const pinned: string[] = [];

/**
 * Remembers a secret value (a token, a password) so that it is scrubbed by exact match from then on. Values
 * shorter than 6 characters are not registered: scrubbing them would mangle ordinary text. `pinned` keeps it for
 * good; otherwise it may give way to the 64 most recent ones.
 */
export function registerSecret(value: string, options: { pinned?: boolean } = {}): void {
  if (value.length < 6 || known.includes(value) || pinned.includes(value)) return;
  if (options.pinned === true) {
    pinned.push(value);
    return;
  }
  known.push(value);
  if (known.length > MAX_KNOWN) known.shift();
}

/** Returns `text` with every known secret and every secret-shaped value replaced by `[REDACTED]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of [...pinned, ...known]) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
