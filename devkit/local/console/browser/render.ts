/**
 * The console page's renderer: Slack mrkdwn and Block Kit → HTML strings in which every piece of
 * text from a message has been escaped (nothing Capstan or a user writes ever becomes markup). Pure
 * functions of their arguments, no DOM: the page runs them, and the unit tests run the same code in a
 * `node:vm` context.
 *
 * A classic script, not a module (no import, no export): `page.ts` transpiles it and puts it in the
 * page's one inline script ahead of the app (`app.ts`), which calls its functions as globals. Checked by
 * `browser/tsconfig.json`, linted with the rest of the repository.
 *
 * Functions the page uses: `esc`, `mrkdwn`, `plainText`, `blocksHtml`, `messageBodyHtml`,
 * `formatTime`, `safeUrl` (the tests also `attachmentsHtml` and `imageUrl`).
 *
 * The shapes below are what the renderer reads from Slack's JSON, every field optional: it is handed
 * whatever Capstan posted, and checks before it trusts.
 */

/** Who the names in a message are, and where it is shown. */
interface RenderContext {
  /** User id → name. */
  users?: Record<string, string>;
  /** Channel id → name. */
  channels?: Record<string, string>;
  /** The user looking at the page: mentions of them are highlighted. */
  me?: string | null;
  /** Inside a modal: inputs are live. */
  form?: boolean;
  /** Buttons cannot be clicked here (ephemerals, modals). */
  inert?: boolean;
}

/** A text object (https://api.slack.com/reference/block-kit/composition-objects#text). */
interface TextObject {
  type?: string;
  text?: string;
  emoji?: boolean;
}

/** An option of a select, radio buttons or checkboxes (composition-objects#option). */
interface OptionObject {
  text?: TextObject;
  value?: string;
  description?: TextObject | string;
}

/** An image by uploaded file (https://api.slack.com/reference/block-kit/composition-objects#slack_file). */
interface SlackFileObject {
  id?: unknown;
  url?: unknown;
}

/** An interactive element or image element (https://api.slack.com/reference/block-kit/block-elements). */
interface BlockElement {
  type?: string;
  action_id?: unknown;
  style?: string;
  text?: TextObject;
  value?: unknown;
  url?: unknown;
  confirm?: { text?: TextObject };
  image_url?: string;
  slack_file?: SlackFileObject;
  alt_text?: string;
  placeholder?: TextObject;
  multiline?: boolean;
  initial_value?: string;
  options?: OptionObject[];
  initial_option?: OptionObject;
  initial_options?: OptionObject[];
  initial_date?: string;
}

/** An element of a context block: a text object or an image element. */
interface ContextElement extends TextObject {
  image_url?: string;
  slack_file?: SlackFileObject;
  alt_text?: string;
}

/** An element of a rich_text block (https://api.slack.com/reference/block-kit/blocks#rich_text). */
interface RichTextElement {
  type?: string;
  elements?: RichTextElement[];
  text?: string;
  style?: { code?: boolean; bold?: boolean; italic?: boolean; strike?: boolean };
  url?: string;
  user_id?: string;
  channel_id?: string;
  name?: string;
}

/** A layout block (https://api.slack.com/reference/block-kit/blocks). */
interface Block {
  type?: string;
  block_id?: unknown;
  text?: TextObject | string;
  fields?: (TextObject | string)[];
  accessory?: BlockElement;
  /** ContextElement for context, BlockElement for actions, RichTextElement for rich_text. */
  elements?: unknown[];
  title?: TextObject;
  image_url?: string;
  slack_file?: SlackFileObject;
  alt_text?: string;
  element?: BlockElement;
  label?: TextObject;
  optional?: boolean;
  hint?: TextObject;
}

/** A legacy attachment (https://api.slack.com/reference/messaging/attachments). */
interface Attachment {
  color?: string;
  pretext?: string;
  title?: string;
  text?: string;
  fields?: ({ title?: string; value?: string } | null)[];
  blocks?: Block[];
  footer?: string;
}

/** What a message, an ephemeral or a modal's body shows. */
interface MessageContent {
  text?: string;
  blocks?: Block[] | null;
  attachments?: Attachment[] | null;
}

/** The emoji Capstan uses, and a few more; any other :name: stays as typed. */
// biome-ignore format: a table, kept dense
const EMOJI: Readonly<Record<string, string>> = {
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', no_entry: '⛔',
  no_entry_sign: '🚫', raised_hand: '✋', hourglass_flowing_sand: '⏳', hourglass: '⌛',
  arrows_counterclockwise: '🔄', arrow_forward: '▶️', lock: '🔒', unlock: '🔓', rotating_light: '🚨',
  large_green_circle: '🟢', large_orange_circle: '🟠', red_circle: '🔴', white_circle: '⚪',
  large_yellow_circle: '🟡', information_source: 'ℹ️', eyes: '👀', broom: '🧹', zzz: '💤',
  alarm_clock: '⏰', chart_with_downwards_trend: '📉', chart_with_upwards_trend: '📈',
  bar_chart: '📊', rocket: '🚀', tada: '🎉', wave: '👋', fire: '🔥', zap: '⚡', bulb: '💡',
  thumbsup: '👍', '+1': '👍', thumbsdown: '👎', '-1': '👎', recycle: '♻️', wastebasket: '🗑️',
  construction: '🚧', mag: '🔍', bell: '🔔', package: '📦', gear: '⚙️', link: '🔗',
  floppy_disk: '💾', card_file_box: '🗃️', key: '🔑', calendar: '📅', stopwatch: '⏱️',
  pause_button: '⏸️', arrow_right: '➡️', leftwards_arrow_with_hook: '↩️', new: '🆕',
  heavy_plus_sign: '➕', heavy_minus_sign: '➖', point_right: '👉', memo: '📝', clipboard: '📋',
  hammer_and_wrench: '🛠️', wrench: '🔧', shield: '🛡️', sparkles: '✨', robot_face: '🤖',
  speech_balloon: '💬', question: '❓', exclamation: '❗', ok: '🆗', sos: '🆘', skull: '💀',
  snail: '🐌', turtle: '🐢', money_with_wings: '💸', moneybag: '💰', receipt: '🧾',
  hospital: '🏥', ambulance: '🚑', stethoscope: '🩺', satellite: '📡', earth_africa: '🌍',
  dart: '🎯', checkered_flag: '🏁', cloud: '☁️', computer: '💻', desktop_computer: '🖥️',
  file_cabinet: '🗄️', inbox_tray: '📥', outbox_tray: '📤', scroll: '📜', lower_left_crayon: '🖍️',
  hourglass_done: '⌛', smile: '😄', slightly_smiling_face: '🙂', thinking_face: '🤔',
};

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text → HTML text: the one way anything from a message reaches the page. */
function esc(value: unknown): string {
  return String(value == null ? '' : value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Slack's own escaping (https://api.slack.com/reference/surfaces/formatting#escaping) undone. */
function unslack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** :name: in already escaped HTML text → the emoji, for names known here. */
function emojify(html: string): string {
  return html.replace(/:([a-z0-9_+-]+):/g, (all, name: string) => {
    const glyph = Object.hasOwn(EMOJI, name) ? EMOJI[name] : null;
    return glyph ? `<span class="emoji" title=":${name}:">${glyph}</span>` : all;
  });
}

function pad(n: number): string {
  return (n < 10 ? '0' : '') + n;
}

/** A message ts (seconds.micros) → "14:05" in the browser's zone. */
// biome-ignore lint/correctness/noUnusedVariables: app.ts calls it (a classic script: one global scope)
function formatTime(ts: string): string {
  const d = new Date(Number(ts) * 1000);
  if (Number.isNaN(d.getTime()) || Number(ts) <= 0) return '';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// biome-ignore format: a table, kept dense
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** <!date^seconds^format|fallback> (https://api.slack.com/reference/surfaces/formatting#date-formatting). */
function slackDate(seconds: string | undefined, format: string | undefined, fallback: string): string {
  const d = new Date(Number(seconds) * 1000);
  if (!/^\d+$/.test(String(seconds)) || Number.isNaN(d.getTime())) return fallback;
  const day = d.getDate();
  const ord =
    day % 10 === 1 && day !== 11
      ? 'st'
      : day % 10 === 2 && day !== 12
        ? 'nd'
        : day % 10 === 3 && day !== 13
          ? 'rd'
          : 'th';
  const month = MONTHS[d.getMonth()] ?? '';
  const h = d.getHours();
  const h12 = h % 12 || 12;
  const ampm = h < 12 ? 'AM' : 'PM';
  const now = new Date();
  const yesterday = new Date(now.getTime() - 86400000);
  const rel = sameDay(d, now) ? 'Today' : sameDay(d, yesterday) ? 'Yesterday' : '';
  const date = `${month} ${day}${ord}, ${d.getFullYear()}`;
  const dateShort = `${month.slice(0, 3)} ${day}, ${d.getFullYear()}`;
  const dateLong = `${DAYS[d.getDay()]}, ${date}`;
  const parts: Record<string, string> = {
    date_num: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(day)}`,
    date: date,
    date_short: dateShort,
    date_long: dateLong,
    date_pretty: rel || date,
    date_short_pretty: rel || dateShort,
    date_long_pretty: rel || dateLong,
    time: `${h12}:${pad(d.getMinutes())} ${ampm}`,
    time_secs: `${h12}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${ampm}`,
  };
  return String(format || '{date_short_pretty} {time}').replace(/\{(\w+)\}/g, (all, key: string) =>
    Object.hasOwn(parts, key) ? (parts[key] ?? all) : all,
  );
}

/** A link target the page may follow: http(s) and mailto only, or the console's own files. */
function safeUrl(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  if (/^https?:\/\/[^\s]+$/i.test(url) || /^mailto:[^\s]+$/i.test(url)) return url;
  if (/^\/console\/files\/[\w.-]+$/.test(url)) return url;
  return null;
}

/** An image source: an uploaded file (also by its Slack URL), https, or an inline raster image. */
function imageUrl(url: unknown, slackFile?: SlackFileObject | null): string | null {
  let src = url;
  if (slackFile && typeof slackFile === 'object') {
    const id = slackFile.id;
    if (typeof id === 'string' && /^F\w+$/.test(id)) return `/console/files/${id}`;
    src = slackFile.url;
  }
  if (typeof src !== 'string') return null;
  const hosted = /^https:\/\/files\.slack\.com\/files-(?:pri|tmb)\/[A-Z0-9]+-(F[A-Z0-9]+)\//.exec(src);
  if (hosted) return `/console/files/${hosted[1]}`;
  if (/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(src)) return src;
  if (/^https:\/\/[^\s]+$/i.test(src) || /^\/console\/files\/[\w.-]+$/.test(src)) return src;
  return null;
}

function nameOf(map: Record<string, string> | undefined, id: string): string | null {
  return map && Object.hasOwn(map, id) ? (map[id] ?? null) : null;
}

/** What is inside <…> in mrkdwn: mentions, channels, special mentions, dates, links. Returns HTML. */
function special(inner: string, ctx: RenderContext): string {
  const bar = inner.indexOf('|');
  const head = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? '' : unslack(inner.slice(bar + 1));
  if (/^@[UW][A-Z0-9]+$/.test(head)) {
    const id = head.slice(1);
    const name = nameOf(ctx.users, id) || label || id;
    const self = ctx.me === id ? ' self' : '';
    return `<span class="mention${self}" data-user="${esc(id)}">@${esc(name)}</span>`;
  }
  if (/^#[CGD][A-Z0-9]+$/.test(head)) {
    const id = head.slice(1);
    const channel = nameOf(ctx.channels, id) || label || id;
    return `<span class="mention channel" data-channel="${esc(id)}">#${esc(channel)}</span>`;
  }
  if (/^!(here|channel|everyone)$/.test(head)) return `<span class="mention">@${esc(head.slice(1))}</span>`;
  if (/^!subteam\^/.test(head)) return `<span class="mention">${esc(label || `@${head.slice(9)}`)}</span>`;
  if (/^!date\^/.test(head)) {
    const bits = head.split('^');
    const when = slackDate(bits[1], bits[2], label || '');
    const link = safeUrl(bits[3]);
    return link
      ? `<a href="${esc(link)}" target="_blank" rel="noopener noreferrer">${esc(when)}</a>`
      : `<span class="date">${esc(when)}</span>`;
  }
  if (head.charAt(0) === '!') return esc(label || head.slice(1));
  const url = safeUrl(unslack(head));
  // Not a link Slack would make: show what was written, brackets and all.
  if (!url) return esc(label || `<${unslack(inner)}>`);
  return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(label || unslack(head))}</a>`;
}

/**
 * Slack mrkdwn → HTML (https://api.slack.com/reference/surfaces/formatting): ```pre```, `code`,
 * *bold*, _italic_, ~strike~, > quotes, <@U…> mentions, <#C…> channels, <url|label> links, <!date…>,
 * :emoji:.
 */
function mrkdwn(text: unknown, ctx: RenderContext = {}): string {
  // Finished HTML (code, links, mentions) is held out of the text behind a NUL-delimited number while
  // the rest is escaped and formatted, then put back.
  const held: string[] = [];
  const hold = (html: string): string => {
    held.push(html);
    return `\u0000${held.length - 1}\u0000`;
  };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL marks held HTML, so the text loses its own
  let s = String(text == null ? '' : text).replace(/\u0000/g, '');
  s = s.replace(/```([\s\S]*?)```/g, (_all, code: string) =>
    hold(`<pre class="code">${esc(unslack(code.replace(/^\n/, '')))}</pre>`),
  );
  s = s.replace(/`([^`\n]+)`/g, (_all, code: string) => hold(`<code>${esc(unslack(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (_all, inner: string) => hold(special(inner, ctx)));
  s = esc(unslack(s));
  s = s.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1<b>$2</b>');
  s = s.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/g, '$1<i>$2</i>');
  s = s.replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/g, '$1<s>$2</s>');
  s = emojify(s);
  const out: string[] = [];
  let quote: string[] = [];
  const flush = () => {
    if (quote.length) out.push(`<blockquote>${quote.join('<br>')}</blockquote>`);
    quote = [];
  };
  for (const line of s.split('\n')) {
    const q = /^&gt; ?(.*)$/.exec(line);
    if (q) quote.push(q[1] ?? '');
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  s = out
    .join('<br>')
    .replace(/<br>(<blockquote>)/g, '$1')
    .replace(/(<\/blockquote>)<br>/g, '$1');
  for (let round = 0; round < 3 && s.indexOf('\u0000') >= 0; round++) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL-delimited marks made by hold()
    s = s.replace(/\u0000(\d+)\u0000/g, (_all, n: string) => held[Number(n)] ?? '');
  }
  return s;
}

/** A plain_text object (or string) → HTML; :emoji: converted unless emoji is false. */
function plainText(obj: TextObject | string | null | undefined): string {
  const text = obj && typeof obj === 'object' ? obj.text : obj;
  let html = esc(text);
  if (!(obj && typeof obj === 'object' && obj.emoji === false)) html = emojify(html);
  return html.replace(/\n/g, '<br>');
}

/** A text object of either type → HTML. */
function textHtml(obj: TextObject | string | null | undefined, ctx: RenderContext): string {
  if (obj == null) return '';
  if (typeof obj === 'string') return mrkdwn(obj, ctx);
  return obj.type === 'mrkdwn' ? mrkdwn(obj.text, ctx) : plainText(obj);
}

function attr(name: string, value: unknown): string {
  return value == null || value === '' ? '' : ` ${name}="${esc(value)}"`;
}

function imgTag(url: unknown, alt: unknown, cls: string): string {
  const src = imageUrl(url);
  if (!src) return `<span class="${esc(cls)} missing">${esc(alt || 'image')}</span>`;
  return `<img class="${esc(cls)}" src="${esc(src)}" alt="${esc(alt || '')}" loading="lazy">`;
}

function optionText(option: OptionObject | null | undefined): string {
  return option?.text ? plainText(option.text) : '';
}

/** An interactive element → HTML. Buttons carry what the click sends in data-* attributes. */
function elementHtml(
  el: BlockElement | null | undefined,
  blockId: string,
  index: number,
  ctx: RenderContext,
): string {
  if (!el || typeof el !== 'object') return '';
  const actionId = typeof el.action_id === 'string' ? el.action_id : `a${index}`;
  const common = attr('data-action-id', actionId) + attr('data-block-id', blockId);
  switch (el.type) {
    case 'button': {
      const style = el.style === 'primary' || el.style === 'danger' ? ` btn-${el.style}` : '';
      const label = el.text?.text ? el.text.text : '';
      const confirm = el.confirm?.text ? el.confirm.text.text || '' : '';
      const data =
        attr('data-value', el.value == null ? '' : String(el.value)) +
        attr('data-text', label) +
        attr('data-url', safeUrl(el.url)) +
        attr('data-confirm', confirm);
      const disabled = ctx.inert ? ' disabled title="Not available here"' : '';
      return `<button type="button" class="btn${style}" data-kind="button"${common}${data}${disabled}>${plainText(el.text)}</button>`;
    }
    case 'image':
      return imgTag(
        el.image_url || (el.slack_file && imageUrl(null, el.slack_file)),
        el.alt_text,
        'accessory-img',
      );
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input': {
      const type =
        el.type === 'email_text_input'
          ? 'email'
          : el.type === 'url_text_input'
            ? 'url'
            : el.type === 'number_input'
              ? 'number'
              : 'text';
      const placeholder = attr('placeholder', el.placeholder?.text);
      if (el.multiline) {
        return `<textarea class="f-input" rows="3" data-kind="${esc(el.type)}"${common}${placeholder}>${esc(el.initial_value || '')}</textarea>`;
      }
      return `<input class="f-input" type="${type}" data-kind="${esc(el.type)}"${common}${attr('value', el.initial_value)}${placeholder}>`;
    }
    case 'static_select': {
      const options = Array.isArray(el.options) ? el.options : [];
      const initial = el.initial_option ? el.initial_option.value : null;
      let html = `<select class="f-select" data-kind="static_select"${common}${ctx.form ? '' : ' disabled'}>`;
      if (initial == null) html += `<option value="">${esc(el.placeholder?.text || 'Choose…')}</option>`;
      options.forEach((option, i) => {
        html += `<option value="${i}"${option.value === initial ? ' selected' : ''}>${esc(option.text?.text)}</option>`;
      });
      return `${html}</select>`;
    }
    case 'radio_buttons':
    case 'checkboxes': {
      const opts = Array.isArray(el.options) ? el.options : [];
      const radio = el.type === 'radio_buttons';
      const chosen = radio
        ? el.initial_option
          ? [el.initial_option.value]
          : []
        : Array.isArray(el.initial_options)
          ? el.initial_options.map((o) => o.value)
          : [];
      let out = `<div class="f-choices" data-kind="${esc(el.type)}"${common}>`;
      opts.forEach((opt, j) => {
        const state = (chosen.indexOf(opt.value) >= 0 ? ' checked' : '') + (ctx.form ? '' : ' disabled');
        const description = opt.description
          ? `<span class="f-choice-desc">${textHtml(opt.description, ctx)}</span>`
          : '';
        out +=
          `<label class="f-choice"><input type="${radio ? 'radio' : 'checkbox'}"` +
          `${attr('name', `${blockId}/${actionId}`)} value="${j}"${state}>` +
          `<span><span class="f-choice-text">${optionText(opt)}</span>${description}</span></label>`;
      });
      return `${out}</div>`;
    }
    case 'datepicker':
      return `<input class="f-input" type="date" data-kind="datepicker"${common}${attr('value', el.initial_date)}>`;
    case 'overflow':
      return '<span class="unsupported" title="overflow menu">⋯</span>';
    default:
      return `<span class="unsupported">[${esc(el.type)}]</span>`;
  }
}

function richTextHtml(elements: RichTextElement[] | undefined, ctx: RenderContext): string {
  let out = '';
  (elements || []).forEach((el) => {
    if (!el) return;
    if (
      el.type === 'rich_text_section' ||
      el.type === 'rich_text_preformatted' ||
      el.type === 'rich_text_quote'
    ) {
      const inner = richTextHtml(el.elements, ctx);
      out +=
        el.type === 'rich_text_preformatted'
          ? `<pre class="code">${inner}</pre>`
          : el.type === 'rich_text_quote'
            ? `<blockquote>${inner}</blockquote>`
            : `<div>${inner}</div>`;
    } else if (el.type === 'rich_text_list') {
      const items = (el.elements || []).map((item) => `<li>${richTextHtml(item.elements, ctx)}</li>`);
      out += `<ul>${items.join('')}</ul>`;
    } else if (el.type === 'text') {
      let html = esc(el.text).replace(/\n/g, '<br>');
      const st = el.style || {};
      if (st.code) html = `<code>${html}</code>`;
      if (st.bold) html = `<b>${html}</b>`;
      if (st.italic) html = `<i>${html}</i>`;
      if (st.strike) html = `<s>${html}</s>`;
      out += html;
    } else if (el.type === 'link') {
      const href = safeUrl(el.url);
      out += href
        ? `<a href="${esc(href)}" target="_blank" rel="noopener noreferrer">${esc(el.text || el.url)}</a>`
        : esc(el.text || el.url);
    } else if (el.type === 'user') {
      out += special(`@${el.user_id}`, ctx);
    } else if (el.type === 'channel') {
      out += special(`#${el.channel_id}`, ctx);
    } else if (el.type === 'emoji') {
      out += emojify(`:${esc(el.name)}:`);
    }
  });
  return out;
}

/** One block → HTML; `index` is its place among its siblings. */
function blockHtml(block: Block | null, index: number, ctx: RenderContext): string {
  if (!block || typeof block !== 'object') return '';
  const blockId = typeof block.block_id === 'string' ? block.block_id : `b${index}`;
  const open = `<div class="blk blk-${esc(block.type)}"${attr('data-block-id', blockId)} data-block-index="${index}">`;
  switch (block.type) {
    case 'section': {
      let body = '';
      if (block.text) body += `<div class="blk-text">${textHtml(block.text, ctx)}</div>`;
      if (Array.isArray(block.fields)) {
        const fields = block.fields.map((f) => `<div class="blk-field">${textHtml(f, ctx)}</div>`);
        body += `<div class="blk-fields">${fields.join('')}</div>`;
      }
      const accessory = block.accessory
        ? `<div class="blk-accessory">${elementHtml(block.accessory, blockId, 0, ctx)}</div>`
        : '';
      return `${open}<div class="blk-main">${body}</div>${accessory}</div>`;
    }
    case 'context': {
      const elements = (block.elements || []) as (ContextElement | null)[];
      const inner = elements.map((el) => {
        if (el && el.type === 'image') {
          return imgTag(el.image_url || imageUrl(null, el.slack_file), el.alt_text, 'context-img');
        }
        return `<span class="ctx-text">${textHtml(el, ctx)}</span>`;
      });
      return `${open}${inner.join('')}</div>`;
    }
    case 'divider':
      return `${open}<hr></div>`;
    case 'header':
      return `${open}${plainText(block.text)}</div>`;
    case 'image': {
      const title = block.title ? `<div class="img-title">${plainText(block.title)}</div>` : '';
      const img = imgTag(block.image_url || imageUrl(null, block.slack_file), block.alt_text, 'blk-img');
      return `${open}${title}${img}</div>`;
    }
    case 'actions': {
      const elements = (block.elements || []) as (BlockElement | null)[];
      return `${open}${elements.map((el, i) => elementHtml(el, blockId, i, ctx)).join('')}</div>`;
    }
    case 'input': {
      const optional = block.optional ? ' <span class="f-optional">(optional)</span>' : '';
      const hint = block.hint ? `<div class="f-hint">${plainText(block.hint)}</div>` : '';
      return (
        `${open}<label class="f-label">${plainText(block.label)}${optional}</label>` +
        elementHtml(block.element || {}, blockId, 0, ctx) +
        `${hint}<div class="f-error" data-error-for="${esc(blockId)}" hidden></div></div>`
      );
    }
    case 'rich_text':
      return `${open}${richTextHtml(block.elements as RichTextElement[] | undefined, ctx)}</div>`;
    default:
      return `${open}<span class="unsupported">[${esc(block.type)} block]</span></div>`;
  }
}

/**
 * Block Kit blocks → HTML (https://api.slack.com/reference/block-kit/blocks). ctx as for mrkdwn,
 * plus form: true inside a modal (inputs are live), inert: true where buttons cannot be clicked.
 */
function blocksHtml(blocks: unknown, ctx: RenderContext = {}): string {
  if (!Array.isArray(blocks)) return '';
  return (blocks as (Block | null)[]).map((block, index) => blockHtml(block, index, ctx)).join('');
}

const ATTACHMENT_COLORS: Record<string, string> = { good: '#2eb67d', warning: '#ecb22e', danger: '#e01e5a' };

/** Legacy attachments (https://api.slack.com/reference/messaging/attachments): a coloured bar and their content. */
function attachmentsHtml(attachments: unknown, ctx?: RenderContext): string {
  if (!Array.isArray(attachments)) return '';
  return (attachments as (Attachment | null)[])
    .map((a) => {
      if (!a || typeof a !== 'object') return '';
      const hex = a.color || '';
      const color =
        ATTACHMENT_COLORS[hex] ||
        (/^#?[0-9a-fA-F]{6}$/.test(hex) ? (hex.charAt(0) === '#' ? hex : `#${hex}`) : '#dddddd');
      let html = `<div class="attachment" data-color="${esc(color)}">`;
      if (a.pretext) html += `<div class="att-pretext">${mrkdwn(a.pretext, ctx)}</div>`;
      if (a.title) html += `<div class="att-title">${esc(a.title)}</div>`;
      if (a.text) html += `<div class="att-text">${mrkdwn(a.text, ctx)}</div>`;
      if (Array.isArray(a.fields)) {
        const fields = a.fields.map(
          (f) => `<div class="blk-field"><b>${esc(f?.title)}</b><br>${mrkdwn(f?.value, ctx)}</div>`,
        );
        html += `<div class="blk-fields">${fields.join('')}</div>`;
      }
      if (Array.isArray(a.blocks)) html += blocksHtml(a.blocks, ctx);
      if (a.footer) html += `<div class="att-footer">${mrkdwn(a.footer, ctx)}</div>`;
      return `${html}</div>`;
    })
    .join('');
}

/** A message's content as Slack's client shows it: its blocks when it has any, else its text; then attachments. */
// biome-ignore lint/correctness/noUnusedVariables: app.ts calls it (a classic script: one global scope)
function messageBodyHtml(message: MessageContent, ctx?: RenderContext): string {
  const html =
    Array.isArray(message.blocks) && message.blocks.length
      ? blocksHtml(message.blocks, ctx)
      : `<div class="msg-text">${mrkdwn(message.text, ctx)}</div>`;
  return html + attachmentsHtml(message.attachments, ctx);
}
