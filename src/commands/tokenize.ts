/**
 * Splits command text into words the way a shell user expects: whitespace separates words,
 * "double" or 'single' quotes keep spaces inside one word, and Slack's smart quotes count as quotes.
 */
export type TokenizeResult = { ok: true; words: string[] } | { ok: false; error: string };

const OPENING_QUOTES: Readonly<Record<string, string>> = { '"': '"', "'": "'", '“': '”', '‘': '’' };

/** Splits `text` into words; an unterminated quote is an error, never a guess. */
export function tokenize(text: string): TokenizeResult {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let closing: string | undefined;
  for (const ch of text) {
    if (closing !== undefined) {
      if (ch === closing) closing = undefined;
      else current += ch;
      continue;
    }
    const close = OPENING_QUOTES[ch];
    if (close !== undefined) {
      closing = close;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (closing !== undefined)
    return { ok: false, error: `a quote was opened but never closed (expected ${closing})` };
  if (inWord) words.push(current);
  return { ok: true, words };
}
