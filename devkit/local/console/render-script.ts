/**
 * The console page's renderer, as browser JavaScript: Slack mrkdwn and Block Kit → HTML strings in
 * which every piece of text from a message has been escaped (nothing Capstan or a user writes ever
 * becomes markup). Pure functions of their arguments, no DOM: the page runs them, and the unit tests
 * run the same source in a `node:vm` context.
 *
 * It is a string (not TypeScript) because the page has no build step. `String.raw` keeps every
 * backslash as written; the source never contains a backtick (it writes `\x60`) nor a dollar-brace.
 *
 * Functions it defines: `esc`, `mrkdwn`, `plainText`, `blocksHtml`, `attachmentsHtml`,
 * `messageBodyHtml`, `formatTime`, `safeUrl`, `imageUrl`.
 */
export const RENDER_SCRIPT = String.raw`
'use strict';

/** The emoji Capstan uses, and a few more; any other :name: stays as typed. */
var EMOJI = {
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
  hourglass_done: '⌛', smile: '😄', slightly_smiling_face: '🙂', thinking_face: '🤔'
};

var ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text → HTML text: the one way anything from a message reaches the page. */
function esc(value) {
  return String(value == null ? '' : value).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
}

/** Slack's own escaping (https://api.slack.com/reference/surfaces/formatting#escaping) undone. */
function unslack(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** :name: in already escaped HTML text → the emoji, for names known here. */
function emojify(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, function (all, name) {
    var glyph = Object.prototype.hasOwnProperty.call(EMOJI, name) ? EMOJI[name] : null;
    return glyph ? '<span class="emoji" title=":' + name + ':">' + glyph + '</span>' : all;
  });
}

function pad(n) { return (n < 10 ? '0' : '') + n; }

/** A message ts (seconds.micros) → "14:05" in the browser's zone. */
function formatTime(ts) {
  var d = new Date(Number(ts) * 1000);
  if (isNaN(d.getTime()) || Number(ts) <= 0) return '';
  return pad(d.getHours()) + ':' + pad(d.getMinutes());
}

var MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];
var DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** <!date^seconds^format|fallback> (https://api.slack.com/reference/surfaces/formatting#date-formatting). */
function slackDate(seconds, format, fallback) {
  var d = new Date(Number(seconds) * 1000);
  if (!/^\d+$/.test(String(seconds)) || isNaN(d.getTime())) return fallback;
  var day = d.getDate();
  var ord = day % 10 === 1 && day !== 11 ? 'st' : day % 10 === 2 && day !== 12 ? 'nd' : day % 10 === 3 && day !== 13 ? 'rd' : 'th';
  var month = MONTHS[d.getMonth()];
  var h = d.getHours();
  var h12 = h % 12 || 12;
  var ampm = h < 12 ? 'AM' : 'PM';
  var now = new Date();
  var yesterday = new Date(now.getTime() - 86400000);
  var rel = sameDay(d, now) ? 'Today' : sameDay(d, yesterday) ? 'Yesterday' : '';
  var date = month + ' ' + day + ord + ', ' + d.getFullYear();
  var dateShort = month.slice(0, 3) + ' ' + day + ', ' + d.getFullYear();
  var dateLong = DAYS[d.getDay()] + ', ' + date;
  var parts = {
    date_num: d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(day),
    date: date, date_short: dateShort, date_long: dateLong,
    date_pretty: rel || date, date_short_pretty: rel || dateShort, date_long_pretty: rel || dateLong,
    time: h12 + ':' + pad(d.getMinutes()) + ' ' + ampm,
    time_secs: h12 + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + ' ' + ampm
  };
  return String(format || '{date_short_pretty} {time}').replace(/\{(\w+)\}/g, function (all, key) {
    return Object.prototype.hasOwnProperty.call(parts, key) ? parts[key] : all;
  });
}

/** A link target the page may follow: http(s) and mailto only, or the console's own files. */
function safeUrl(url) {
  if (typeof url !== 'string') return null;
  if (/^https?:\/\/[^\s]+$/i.test(url) || /^mailto:[^\s]+$/i.test(url)) return url;
  if (/^\/console\/files\/[\w.-]+$/.test(url)) return url;
  return null;
}

/** An image source: an uploaded file (also by its Slack URL), https, or an inline raster image. */
function imageUrl(url, slackFile) {
  if (slackFile && typeof slackFile === 'object') {
    if (typeof slackFile.id === 'string' && /^F\w+$/.test(slackFile.id)) return '/console/files/' + slackFile.id;
    url = slackFile.url;
  }
  if (typeof url !== 'string') return null;
  var hosted = /^https:\/\/files\.slack\.com\/files-(?:pri|tmb)\/[A-Z0-9]+-(F[A-Z0-9]+)\//.exec(url);
  if (hosted) return '/console/files/' + hosted[1];
  if (/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+\/=]+$/.test(url)) return url;
  if (/^https:\/\/[^\s]+$/i.test(url) || /^\/console\/files\/[\w.-]+$/.test(url)) return url;
  return null;
}

function nameOf(map, id) {
  return map && Object.prototype.hasOwnProperty.call(map, id) ? map[id] : null;
}

/** What is inside <…> in mrkdwn: mentions, channels, special mentions, dates, links. Returns HTML. */
function special(inner, ctx) {
  var bar = inner.indexOf('|');
  var head = bar < 0 ? inner : inner.slice(0, bar);
  var label = bar < 0 ? '' : unslack(inner.slice(bar + 1));
  if (/^@[UW][A-Z0-9]+$/.test(head)) {
    var id = head.slice(1);
    var name = nameOf(ctx.users, id) || label || id;
    var self = ctx.me === id ? ' self' : '';
    return '<span class="mention' + self + '" data-user="' + esc(id) + '">@' + esc(name) + '</span>';
  }
  if (/^#[CGD][A-Z0-9]+$/.test(head)) {
    var channel = nameOf(ctx.channels, head.slice(1)) || label || head.slice(1);
    return '<span class="mention channel">#' + esc(channel) + '</span>';
  }
  if (/^!(here|channel|everyone)$/.test(head)) return '<span class="mention">@' + esc(head.slice(1)) + '</span>';
  if (/^!subteam\^/.test(head)) return '<span class="mention">' + esc(label || '@' + head.slice(9)) + '</span>';
  if (/^!date\^/.test(head)) {
    var bits = head.split('^');
    var when = slackDate(bits[1], bits[2], label || '');
    var link = safeUrl(bits[3]);
    return link
      ? '<a href="' + esc(link) + '" target="_blank" rel="noopener noreferrer">' + esc(when) + '</a>'
      : '<span class="date">' + esc(when) + '</span>';
  }
  if (head.charAt(0) === '!') return esc(label || head.slice(1));
  var url = safeUrl(unslack(head));
  // Not a link Slack would make: show what was written, brackets and all.
  if (!url) return esc(label || '<' + unslack(inner) + '>');
  return '<a href="' + esc(url) + '" target="_blank" rel="noopener noreferrer">' + esc(label || unslack(head)) + '</a>';
}

/**
 * Slack mrkdwn → HTML (https://api.slack.com/reference/surfaces/formatting): \x60\x60\x60pre\x60\x60\x60,
 * \x60code\x60, *bold*, _italic_, ~strike~, > quotes, <@U…> mentions, <#C…> channels, <url|label> links,
 * <!date…>, :emoji:. ctx: { users: {id: name}, channels: {id: name}, me: id }.
 */
function mrkdwn(text, ctx) {
  ctx = ctx || {};
  var held = [];
  function hold(html) { held.push(html); return '\u0000' + (held.length - 1) + '\u0000'; }
  var s = String(text == null ? '' : text).replace(/\u0000/g, '');
  s = s.replace(/\x60\x60\x60([\s\S]*?)\x60\x60\x60/g, function (all, code) {
    return hold('<pre class="code">' + esc(unslack(code.replace(/^\n/, ''))) + '</pre>');
  });
  s = s.replace(/\x60([^\x60\n]+)\x60/g, function (all, code) { return hold('<code>' + esc(unslack(code)) + '</code>'); });
  s = s.replace(/<([^<>\n]+)>/g, function (all, inner) { return hold(special(inner, ctx)); });
  s = esc(unslack(s));
  s = s.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1<b>$2</b>');
  s = s.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/g, '$1<i>$2</i>');
  s = s.replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/g, '$1<s>$2</s>');
  s = emojify(s);
  var lines = s.split('\n');
  var out = [];
  var quote = [];
  var flush = function () {
    if (quote.length) out.push('<blockquote>' + quote.join('<br>') + '</blockquote>');
    quote = [];
  };
  for (var i = 0; i < lines.length; i++) {
    var q = /^&gt; ?(.*)$/.exec(lines[i]);
    if (q) quote.push(q[1]);
    else {
      flush();
      out.push(lines[i]);
    }
  }
  flush();
  s = out.join('<br>').replace(/<br>(<blockquote>)/g, '$1').replace(/(<\/blockquote>)<br>/g, '$1');
  for (var round = 0; round < 3 && s.indexOf('\u0000') >= 0; round++) {
    s = s.replace(/\u0000(\d+)\u0000/g, function (all, n) { return held[Number(n)]; });
  }
  return s;
}

/** A plain_text object (or string) → HTML; :emoji: converted unless emoji is false. */
function plainText(obj) {
  var text = obj && typeof obj === 'object' ? obj.text : obj;
  var html = esc(text);
  if (!(obj && typeof obj === 'object' && obj.emoji === false)) html = emojify(html);
  return html.replace(/\n/g, '<br>');
}

/** A text object of either type → HTML. */
function textHtml(obj, ctx) {
  if (obj == null) return '';
  if (typeof obj === 'string') return mrkdwn(obj, ctx);
  return obj.type === 'mrkdwn' ? mrkdwn(obj.text, ctx) : plainText(obj);
}

function attr(name, value) {
  return value == null || value === '' ? '' : ' ' + name + '="' + esc(value) + '"';
}

function imgTag(url, alt, cls) {
  var src = imageUrl(url);
  if (!src) return '<span class="' + esc(cls) + ' missing">' + esc(alt || 'image') + '</span>';
  return '<img class="' + esc(cls) + '" src="' + esc(src) + '" alt="' + esc(alt || '') + '" loading="lazy">';
}

function optionText(option) {
  return option && option.text ? plainText(option.text) : '';
}

/** An interactive element → HTML. Buttons carry what the click sends in data-* attributes. */
function elementHtml(el, blockId, index, ctx) {
  if (!el || typeof el !== 'object') return '';
  var actionId = typeof el.action_id === 'string' ? el.action_id : 'a' + index;
  var common = attr('data-action-id', actionId) + attr('data-block-id', blockId);
  switch (el.type) {
    case 'button': {
      var style = el.style === 'primary' || el.style === 'danger' ? ' btn-' + el.style : '';
      var label = el.text && el.text.text ? el.text.text : '';
      var confirm = el.confirm && el.confirm.text ? (el.confirm.text.text || '') : '';
      return '<button type="button" class="btn' + style + '" data-kind="button"' + common +
        attr('data-value', el.value == null ? '' : String(el.value)) + attr('data-text', label) +
        attr('data-url', safeUrl(el.url)) + attr('data-confirm', confirm) +
        (ctx.inert ? ' disabled title="Not available here"' : '') + '>' + plainText(el.text) + '</button>';
    }
    case 'image':
      return imgTag(el.image_url || (el.slack_file && imageUrl(null, el.slack_file)), el.alt_text, 'accessory-img');
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input': {
      var type = el.type === 'email_text_input' ? 'email' : el.type === 'url_text_input' ? 'url' : el.type === 'number_input' ? 'number' : 'text';
      var placeholder = el.placeholder && el.placeholder.text;
      if (el.multiline) {
        return '<textarea class="f-input" rows="3" data-kind="' + esc(el.type) + '"' + common + attr('placeholder', placeholder) + '>' +
          esc(el.initial_value || '') + '</textarea>';
      }
      return '<input class="f-input" type="' + type + '" data-kind="' + esc(el.type) + '"' + common +
        attr('value', el.initial_value) + attr('placeholder', placeholder) + '>';
    }
    case 'static_select': {
      var options = Array.isArray(el.options) ? el.options : [];
      var initial = el.initial_option ? el.initial_option.value : null;
      var html = '<select class="f-select" data-kind="static_select"' + common + (ctx.form ? '' : ' disabled') + '>';
      if (initial == null) html += '<option value="">' + esc(el.placeholder && el.placeholder.text || 'Choose…') + '</option>';
      for (var i = 0; i < options.length; i++) {
        html += '<option value="' + i + '"' + (options[i].value === initial ? ' selected' : '') + '>' + esc(options[i].text && options[i].text.text) + '</option>';
      }
      return html + '</select>';
    }
    case 'radio_buttons':
    case 'checkboxes': {
      var opts = Array.isArray(el.options) ? el.options : [];
      var chosen = el.type === 'radio_buttons'
        ? (el.initial_option ? [el.initial_option.value] : [])
        : (Array.isArray(el.initial_options) ? el.initial_options.map(function (o) { return o.value; }) : []);
      var out = '<div class="f-choices" data-kind="' + esc(el.type) + '"' + common + '>';
      for (var j = 0; j < opts.length; j++) {
        out += '<label class="f-choice"><input type="' + (el.type === 'radio_buttons' ? 'radio' : 'checkbox') + '"' +
          attr('name', blockId + '/' + actionId) + ' value="' + j + '"' + (chosen.indexOf(opts[j].value) >= 0 ? ' checked' : '') +
          (ctx.form ? '' : ' disabled') + '><span><span class="f-choice-text">' + optionText(opts[j]) + '</span>' +
          (opts[j].description ? '<span class="f-choice-desc">' + textHtml(opts[j].description, ctx) + '</span>' : '') +
          '</span></label>';
      }
      return out + '</div>';
    }
    case 'datepicker':
      return '<input class="f-input" type="date" data-kind="datepicker"' + common + attr('value', el.initial_date) + '>';
    case 'overflow':
      return '<span class="unsupported" title="overflow menu">⋯</span>';
    default:
      return '<span class="unsupported">[' + esc(el.type) + ']</span>';
  }
}

function richTextHtml(elements, ctx) {
  var out = '';
  (elements || []).forEach(function (el) {
    if (!el) return;
    if (el.type === 'rich_text_section' || el.type === 'rich_text_preformatted' || el.type === 'rich_text_quote') {
      var inner = richTextHtml(el.elements, ctx);
      out += el.type === 'rich_text_preformatted' ? '<pre class="code">' + inner + '</pre>'
        : el.type === 'rich_text_quote' ? '<blockquote>' + inner + '</blockquote>' : '<div>' + inner + '</div>';
    } else if (el.type === 'rich_text_list') {
      out += '<ul>' + (el.elements || []).map(function (item) { return '<li>' + richTextHtml(item.elements, ctx) + '</li>'; }).join('') + '</ul>';
    } else if (el.type === 'text') {
      var html = esc(el.text).replace(/\n/g, '<br>');
      var st = el.style || {};
      if (st.code) html = '<code>' + html + '</code>';
      if (st.bold) html = '<b>' + html + '</b>';
      if (st.italic) html = '<i>' + html + '</i>';
      if (st.strike) html = '<s>' + html + '</s>';
      out += html;
    } else if (el.type === 'link') {
      var href = safeUrl(el.url);
      out += href
        ? '<a href="' + esc(href) + '" target="_blank" rel="noopener noreferrer">' + esc(el.text || el.url) + '</a>'
        : esc(el.text || el.url);
    } else if (el.type === 'user') {
      out += special('@' + el.user_id, ctx);
    } else if (el.type === 'channel') {
      out += special('#' + el.channel_id, ctx);
    } else if (el.type === 'emoji') {
      out += emojify(':' + esc(el.name) + ':');
    }
  });
  return out;
}

/**
 * Block Kit blocks → HTML (https://api.slack.com/reference/block-kit/blocks). ctx as for mrkdwn,
 * plus form: true inside a modal (inputs are live), inert: true where buttons cannot be clicked.
 */
function blocksHtml(blocks, ctx) {
  ctx = ctx || {};
  if (!Array.isArray(blocks)) return '';
  return blocks.map(function (block, index) {
    if (!block || typeof block !== 'object') return '';
    var blockId = typeof block.block_id === 'string' ? block.block_id : 'b' + index;
    var open = '<div class="blk blk-' + esc(block.type) + '"' + attr('data-block-id', blockId) + ' data-block-index="' + index + '">';
    switch (block.type) {
      case 'section': {
        var html = open;
        var body = '';
        if (block.text) body += '<div class="blk-text">' + textHtml(block.text, ctx) + '</div>';
        if (Array.isArray(block.fields)) {
          body += '<div class="blk-fields">' + block.fields.map(function (f) {
            return '<div class="blk-field">' + textHtml(f, ctx) + '</div>';
          }).join('') + '</div>';
        }
        html += '<div class="blk-main">' + body + '</div>';
        if (block.accessory) html += '<div class="blk-accessory">' + elementHtml(block.accessory, blockId, 0, ctx) + '</div>';
        return html + '</div>';
      }
      case 'context':
        return open + (block.elements || []).map(function (el) {
          if (el && el.type === 'image') return imgTag(el.image_url || imageUrl(null, el.slack_file), el.alt_text, 'context-img');
          return '<span class="ctx-text">' + textHtml(el, ctx) + '</span>';
        }).join('') + '</div>';
      case 'divider':
        return open + '<hr></div>';
      case 'header':
        return open + plainText(block.text) + '</div>';
      case 'image':
        return open + (block.title ? '<div class="img-title">' + plainText(block.title) + '</div>' : '') +
          imgTag(block.image_url || imageUrl(null, block.slack_file), block.alt_text, 'blk-img') + '</div>';
      case 'actions':
        return open + (block.elements || []).map(function (el, i) { return elementHtml(el, blockId, i, ctx); }).join('') + '</div>';
      case 'input': {
        var el = block.element || {};
        return open + '<label class="f-label">' + plainText(block.label) +
          (block.optional ? ' <span class="f-optional">(optional)</span>' : '') + '</label>' +
          elementHtml(el, blockId, 0, ctx) +
          (block.hint ? '<div class="f-hint">' + plainText(block.hint) + '</div>' : '') +
          '<div class="f-error" data-error-for="' + esc(blockId) + '" hidden></div></div>';
      }
      case 'rich_text':
        return open + richTextHtml(block.elements, ctx) + '</div>';
      default:
        return open + '<span class="unsupported">[' + esc(block.type) + ' block]</span></div>';
    }
  }).join('');
}

var ATTACHMENT_COLORS = { good: '#2eb67d', warning: '#ecb22e', danger: '#e01e5a' };

/** Legacy attachments (https://api.slack.com/reference/messaging/attachments): a coloured bar and their content. */
function attachmentsHtml(attachments, ctx) {
  if (!Array.isArray(attachments)) return '';
  return attachments.map(function (a) {
    if (!a || typeof a !== 'object') return '';
    var color = ATTACHMENT_COLORS[a.color] || (/^#?[0-9a-fA-F]{6}$/.test(a.color || '') ? (a.color.charAt(0) === '#' ? a.color : '#' + a.color) : '#dddddd');
    var html = '<div class="attachment" data-color="' + esc(color) + '">';
    if (a.pretext) html += '<div class="att-pretext">' + mrkdwn(a.pretext, ctx) + '</div>';
    if (a.title) html += '<div class="att-title">' + esc(a.title) + '</div>';
    if (a.text) html += '<div class="att-text">' + mrkdwn(a.text, ctx) + '</div>';
    if (Array.isArray(a.fields)) {
      html += '<div class="blk-fields">' + a.fields.map(function (f) {
        return '<div class="blk-field"><b>' + esc(f && f.title) + '</b><br>' + mrkdwn(f && f.value, ctx) + '</div>';
      }).join('') + '</div>';
    }
    if (Array.isArray(a.blocks)) html += blocksHtml(a.blocks, ctx);
    if (a.footer) html += '<div class="att-footer">' + mrkdwn(a.footer, ctx) + '</div>';
    return html + '</div>';
  }).join('');
}

/** A message's content as Slack's client shows it: its blocks when it has any, else its text; then attachments. */
function messageBodyHtml(message, ctx) {
  var html = Array.isArray(message.blocks) && message.blocks.length
    ? blocksHtml(message.blocks, ctx)
    : '<div class="msg-text">' + mrkdwn(message.text, ctx) + '</div>';
  return html + attachmentsHtml(message.attachments, ctx);
}
`;
