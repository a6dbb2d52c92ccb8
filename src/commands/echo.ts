/**
 * Showing a person's own input back to them inside a message, safely: messages are Slack mrkdwn, so
 * echoed input is clipped, has its backticks replaced (they would end the code span), its control and
 * direction-changing characters replaced, and `&`, `<`, `>` escaped the way Slack requires.
 */

/** How much of a person's input any one message shows back (code points). */
export const ECHO_LIMIT = 40;

/** Characters never shown raw: C0/C1 controls, bidi overrides and isolates, line/paragraph separators. */
const UNSHOWABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/**
 * `input` as a Slack code span (`` `like this` ``): at most {@link ECHO_LIMIT} code points (then
 * `…`), backticks shown as `'`, unshowable characters and lone surrogates as `�`, `&<>` escaped.
 */
export function echo(input: string, limit = ECHO_LIMIT): string {
  if (input === '') return '`""`';
  // Each code point is at most two UTF-16 units: this slice holds more than `limit` code points.
  const points = Array.from(input.slice(0, 2 * limit + 2));
  const clipped = points.length > limit;
  let out = '';
  for (const ch of clipped ? points.slice(0, limit) : points) out += showable(ch);
  return `\`${out}${clipped ? '…' : ''}\``;
}

/** One code point made safe for a Slack code span. */
function showable(ch: string): string {
  if (ch === '`') return "'";
  if (ch === '&') return '&amp;';
  if (ch === '<') return '&lt;';
  if (ch === '>') return '&gt;';
  const code = ch.codePointAt(0) ?? 0;
  if (code >= 0xd800 && code <= 0xdfff) return '\ufffd';
  return UNSHOWABLE.test(ch) ? '\ufffd' : ch;
}

/** Names one character for a message: `` `;` ``, "a space", "a backtick", or `U+0007`. */
export function describeChar(ch: string): string {
  if (ch === ' ') return 'a space';
  if (ch === '`') return 'a backtick';
  const code = ch.codePointAt(0) ?? 0;
  if ((code >= 0xd800 && code <= 0xdfff) || UNSHOWABLE.test(ch) || /[\s\p{C}\p{Z}]/u.test(ch)) {
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return echo(ch);
}

/**
 * Plain text made safe to put into a Slack message: `&`, `<`, `>` escaped, so text from a command (a
 * `--reason`, say) can never become a mention (`<!channel>`), a link or a broken entity.
 */
export function escapeSlack(text: string): string {
  return text.replace(/[&<>]/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : '&gt;'));
}

/**
 * Slack's own escaping undone: `&lt;`, `&gt;`, `&amp;` back to `<`, `>`, `&` (one pass, so `&amp;lt;`
 * becomes `&lt;`), and links Slack made of what was typed (`<http://shop.app|shop.app>`) back to the
 * text shown.
 */
export function unescapeSlack(text: string): string {
  return text
    .replace(
      /<((?:https?|mailto):[^|<>]*)(?:\|([^<>]*))?>/g,
      (_, url: string, label?: string) => label ?? url,
    )
    .replace(/&(lt|gt|amp);/g, (_, name: string) => (name === 'lt' ? '<' : name === 'gt' ? '>' : '&'));
}
