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

/** How much of a command's text a message shows back (code points): enough for any real command. */
export const COMMAND_ECHO_LIMIT = 200;

/**
 * A command's text as a code span in a message: the plain text the person typed, safe to show
 * ({@link echo} with room for a whole command).
 */
export function echoCommand(text: string): string {
  return echo(text, COMMAND_ECHO_LIMIT);
}

/** Special mentions Slack writes as `<!name>` (https://api.slack.com/reference/surfaces/formatting#special-mentions). */
const SPECIAL_MENTIONS = new Set(['channel', 'here', 'everyone']);

/**
 * Slack's markup turned into the plain text a reader sees, once, where a request comes in: entities
 * (`&lt;`, `&gt;`, `&amp;`) decoded in one pass (so `&amp;lt;` becomes `&lt;`); links (`<http://x|label>`)
 * become their label, or the address when there is none; user, channel and group mentions
 * (`<@U1|ann>`, `<#C1|ops>`, `<!subteam^S1|@oncall>`) and special mentions (`<!channel>`) become
 * `@ann`, `#ops`, `@oncall`, `@channel`; dates (`<!date^…|fallback>`) their fallback. What comes out
 * is text, never markup: shown again only through {@link escapeSlack} or {@link echo}, it can
 * mention, ping or link nothing. See https://api.slack.com/reference/surfaces/formatting#escaping.
 */
export function plainText(text: string): string {
  return text
    .replace(/<([^<>]*)>/g, (_, inner: string) => plainEntity(inner))
    .replace(/&(lt|gt|amp);/g, (_, name: string) => (name === 'lt' ? '<' : name === 'gt' ? '>' : '&'));
}

/** What one `<…>` of Slack markup shows; angle brackets around anything else are kept as typed. */
function plainEntity(inner: string): string {
  if (!/^([@#!]|[a-z][a-z0-9+.-]*:)/i.test(inner)) return `<${inner}>`;
  const bar = inner.indexOf('|');
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? undefined : inner.slice(bar + 1);
  if (target.startsWith('@')) return label ? `@${label.replace(/^@/, '')}` : target;
  if (target.startsWith('#')) return label ? `#${label.replace(/^#/, '')}` : target;
  if (target.startsWith('!')) {
    const name = target.slice(1);
    if (SPECIAL_MENTIONS.has(name)) return `@${name}`;
    if (name.startsWith('subteam^')) return label ? `@${label.replace(/^@/, '')}` : `@${name.slice(8)}`;
    return label ?? `@${name.split('^')[0]}`;
  }
  // A link (`http:`, `https:`, `mailto:`, any scheme Slack linked): its label, else its address.
  return label ?? target;
}
