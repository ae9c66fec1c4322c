/** The longest explanation of the API's own kept in an error message: enough to read, too short to flood a log. */
const MAX_PROBLEM_CHARS = 200;

/**
 * The resource API's own explanation of an error answer (`{"errors":[{"status","title","detail"}]}`,
 * docs/resources.md): the first error's title and detail, for a `WatchError`'s message. Server text, so made
 * safe to print: control and format characters (line breaks, escape sequences, bidi overrides) become spaces, the
 * request's `token` is blanked out should the server echo it, and the text is cut to 200 characters. Undefined for a
 * body that is not that form (not JSON, no errors, no text): the message then says what it said without it.
 */
export function apiProblem(body: string, token: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const first = isRecord(parsed) && Array.isArray(parsed['errors']) ? (parsed['errors'] as unknown[])[0] : undefined;
  if (!isRecord(first)) return undefined;
  const parts = [first['title'], first['detail']].filter((p): p is string => typeof p === 'string');
  let text = parts.join(': ');
  // Blanked out before anything else changes the text: a token cut or broken by the steps below would slip through.
  if (token !== '') text = text.split(token).join('[token]');
  text = text
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return undefined;
  const chars = [...text];
  return chars.length <= MAX_PROBLEM_CHARS ? text : `${chars.slice(0, MAX_PROBLEM_CHARS).join('')}…`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
