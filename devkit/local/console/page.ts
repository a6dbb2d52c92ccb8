/**
 * The console page: one HTML document with its CSS and JavaScript inline, no framework and no
 * bundler. A Slack-like client: channels on the left, messages in the middle, a thread pane on the
 * right, a composer, a user switcher, modals; it renders with `browser/render.ts` (TypeScript) and
 * talks only to the console's own `/console/api/*` routes (see `server.ts`). Every HTML string the
 * page inserts comes from the renderer, which escapes all text.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

/**
 * The page's TypeScript: `browser/` beside this file when it runs from `devkit/local/console` under
 * tsx, and the repository's when it runs from `dist/devkit/local/console`, as built (the page's
 * scripts are a project of their own, `browser/tsconfig.json`, which the build leaves out).
 */
const BROWSER_DIR = new URL(
  import.meta.url.includes('/dist/devkit/') ? '../../../../devkit/local/console/browser/' : './browser/',
  import.meta.url,
);

/**
 * `browser/<file>` as the JavaScript the page runs: its types stripped by `transpileModule`, once, when
 * this module loads (https://github.com/microsoft/TypeScript/wiki/Using-the-Compiler-API#a-simple-transform-function).
 * It stays a classic script, so its top-level names are the page's globals.
 */
function browserScript(file: string): string {
  const source = readFileSync(new URL(file, BROWSER_DIR), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { target: ts.ScriptTarget.ES2022, alwaysStrict: true, sourceMap: false },
  });
  // It is inlined in a <script> element: these would end it, or change how it is parsed.
  if (/<\/script|<!--/i.test(outputText)) throw new Error(`${file} contains </script or <!--`);
  return outputText;
}

/**
 * The renderer (`browser/render.ts`) as the page runs it, and as the unit tests run it in a `node:vm`
 * context: it defines `esc`, `mrkdwn`, `plainText`, `blocksHtml`, `attachmentsHtml`,
 * `messageBodyHtml`, `formatTime`, `safeUrl` and `imageUrl`.
 */
export const RENDER_SCRIPT = browserScript('render.ts');

const STYLES = `
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { height: 100%; margin: 0; }
body {
  font: 15px/1.46668 Lato, 'Segoe UI', 'Helvetica Neue', 'DejaVu Sans', Arial, sans-serif, 'Noto Color Emoji';
  color: #1d1c1d; background: #fff;
}
#app { display: grid; grid-template-rows: 44px minmax(0, 1fr); grid-template-columns: 250px minmax(0, 1fr) auto; height: 100vh; }
#topbar {
  grid-column: 1 / -1; background: #350d36; color: #fff; display: flex; align-items: center; gap: 16px;
  padding: 0 16px; font-size: 13px; border-bottom: 1px solid #522653;
}
#topbar .brand { font-weight: 900; font-size: 15px; }
#topbar .note { color: #d1c4d1; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#topbar label { display: flex; align-items: center; gap: 8px; }
#user-switch { font: inherit; font-size: 13px; padding: 3px 6px; border-radius: 4px; border: 1px solid #8a6d8b; background: #4a154b; color: #fff; }
#conn { display: flex; align-items: center; gap: 6px; color: #d1c4d1; }
#conn::before { content: ''; width: 8px; height: 8px; border-radius: 50%; background: #9e9ea6; }
#conn.live::before { background: #2bac76; }
#sidebar { background: #3f0e40; color: #cfc3cf; overflow-y: auto; padding-bottom: 16px; }
.ws-name { color: #fff; font-weight: 900; font-size: 18px; padding: 14px 16px; border-bottom: 1px solid #522653; }
.ws-sub { display: block; font-size: 12px; font-weight: 400; color: #cfc3cf; }
.section-title { padding: 14px 16px 4px; font-size: 13px; color: #cfc3cf; }
.channel {
  display: flex; width: 100%; align-items: center; gap: 6px; text-align: left; color: #cfc3cf; background: none;
  border: 0; padding: 4px 16px; font: inherit; cursor: pointer;
}
.channel:hover { background: #350d36; }
.channel.active { background: #1164a3; color: #fff; }
.channel.unread { color: #fff; font-weight: 900; }
.channel .hash { opacity: .7; width: 12px; }
.unread-count { margin-left: auto; background: #cd2553; color: #fff; border-radius: 9px; font-size: 12px; padding: 0 7px; font-weight: 700; }
.person { padding: 3px 16px; font-size: 14px; display: flex; align-items: center; gap: 8px; }
.person .dot { width: 8px; height: 8px; border-radius: 50%; background: #2bac76; }
.person.me { color: #fff; font-weight: 700; }
.person-title { font-size: 12px; font-weight: 400; opacity: .75; }
#main { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
#thread { width: 440px; display: flex; flex-direction: column; border-left: 1px solid #dddddd; min-height: 0; }
.pane-header { display: flex; align-items: center; gap: 10px; padding: 10px 20px; border-bottom: 1px solid #dddddd; min-height: 50px; }
.pane-header h1, .pane-header h2 { font-size: 18px; font-weight: 900; margin: 0; }
.pane-header .sub { color: #616061; font-size: 13px; }
.thread-close { margin-left: auto; border: 0; background: none; font-size: 22px; cursor: pointer; color: #616061; }
.messages { flex: 1; overflow-y: auto; padding: 8px 0 16px; min-height: 0; }
.empty { color: #616061; padding: 24px 20px; }
.msg { display: flex; gap: 10px; padding: 8px 20px; position: relative; }
.msg:hover { background: #f8f8f8; }
.msg.ephemeral { background: #f6f9fc; }
.msg.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { background: #fff6d6; } to { background: transparent; } }
.avatar {
  width: 36px; height: 36px; border-radius: 6px; flex: none; display: flex; align-items: center;
  justify-content: center; color: #fff; font-weight: 900; font-size: 16px; margin-top: 2px;
}
.av-bot { background: #1d1c1d; font-size: 20px; }
.av-0 { background: #e8912d; } .av-1 { background: #2bac76; } .av-2 { background: #1264a3; }
.av-3 { background: #cd2553; } .av-4 { background: #7c3085; } .av-5 { background: #0b8a8a; }
.msg-body { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.msg-head { display: flex; align-items: baseline; gap: 6px; }
.author { font-weight: 900; }
.badge { background: #e8e8e8; color: #616061; font-size: 10px; font-weight: 700; padding: 1px 4px; border-radius: 3px; }
.time { color: #616061; font-size: 12px; }
.edited { color: #616061; font-size: 12px; }
.only-you { color: #616061; font-size: 12px; margin-bottom: 2px; }
.dismiss { border: 0; background: none; color: #1264a3; cursor: pointer; font-size: 12px; padding: 0; margin-left: 8px; }
.msg-actions {
  position: absolute; top: -14px; right: 20px; display: flex; background: #fff; border: 1px solid #dddddd;
  border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.08); opacity: 0; transition: opacity .1s;
}
.msg:hover .msg-actions, .msg-actions:focus-within { opacity: 1; }
.msg-actions button { border: 0; background: none; cursor: pointer; font-size: 15px; width: 32px; height: 30px; border-radius: 4px; }
.msg-actions button:hover { background: #f0f0f0; }
.thread-foot { display: flex; align-items: center; gap: 8px; margin-top: 4px; }
.replies { color: #1264a3; font-weight: 700; font-size: 13px; background: none; border: 0; padding: 0; cursor: pointer; font-family: inherit; }
.replies:hover { text-decoration: underline; }
.last-reply { color: #616061; font-size: 12px; }
.thread-divider { display: flex; align-items: center; gap: 10px; color: #616061; font-size: 13px; padding: 4px 20px; }
.thread-divider::after { content: ''; flex: 1; border-top: 1px solid #e8e8e8; }
.msg-text { white-space: normal; }
.blk { margin: 4px 0; }
.blk-section { display: flex; gap: 12px; align-items: flex-start; }
.blk-main { flex: 1; min-width: 0; }
.blk-fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 20px; margin-top: 6px; }
.blk-context { color: #616061; font-size: 13px; display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: center; }
.context-img { width: 20px; height: 20px; border-radius: 3px; }
.blk-divider hr { border: 0; border-top: 1px solid #e8e8e8; margin: 8px 0; }
.blk-header { font-size: 18px; font-weight: 900; }
.blk-img, .file-img { display: block; max-width: min(520px, 100%); max-height: 380px; border-radius: 8px; border: 1px solid #dddddd; margin-top: 4px; }
.accessory-img { width: 72px; height: 72px; border-radius: 6px; object-fit: cover; }
.img-title { font-size: 13px; color: #616061; }
.blk-actions { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 8px; }
.btn {
  font: inherit; font-size: 14px; font-weight: 700; padding: 0 14px; height: 32px; border: 1px solid rgba(29,28,29,.3);
  border-radius: 4px; background: #fff; color: #1d1c1d; cursor: pointer;
}
.btn:hover { background: #f8f8f8; }
.btn-primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.btn-primary:hover { background: #148567; }
.btn-danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
.btn-danger:hover { background: #e23067; }
.btn:disabled { opacity: .55; cursor: default; }
.btn.busy { cursor: progress; }
b { font-weight: 700; }
code {
  font: 12px/1.4 Monaco, Menlo, Consolas, 'DejaVu Sans Mono', monospace; background: #f6f6f6; border: 1px solid #e1e1e1;
  color: #c01343; padding: 1px 3px; border-radius: 3px;
}
pre.code {
  background: #f8f8f8; border: 1px solid #e1e1e1; border-radius: 4px; padding: 8px 10px; margin: 4px 0;
  font: 12px/1.5 Monaco, Menlo, Consolas, 'DejaVu Sans Mono', monospace; white-space: pre-wrap; word-break: break-word;
}
blockquote { border-left: 4px solid #dddddd; margin: 4px 0; padding-left: 12px; }
a { color: #1264a3; text-decoration: none; }
a:hover { text-decoration: underline; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
.mention.self { background: #fff3c4; color: #7a5900; }
.date { border-bottom: 1px dotted #999; }
.emoji { font-family: 'Noto Color Emoji', 'Apple Color Emoji', 'Segoe UI Emoji', sans-serif; font-size: 1.05em; }
.unsupported { color: #999; font-size: 12px; }
.attachment { border-left: 4px solid #dddddd; padding: 2px 0 2px 12px; margin: 6px 0; }
.att-title { font-weight: 700; }
.att-pretext, .att-footer { color: #616061; font-size: 13px; }
.file-card { margin-top: 4px; }
.file-name { font-size: 13px; color: #616061; }
.file-link { display: inline-flex; gap: 6px; align-items: center; border: 1px solid #dddddd; border-radius: 8px; padding: 8px 12px; }
.composer-wrap { padding: 0 20px 12px; }
.composer { border: 1px solid #bbbbbb; border-radius: 8px; display: flex; align-items: flex-end; gap: 8px; padding: 8px 8px 8px 12px; }
.composer:focus-within { border-color: #1264a3; box-shadow: 0 0 0 1px #1264a3; }
.composer textarea { flex: 1; border: 0; resize: none; font: inherit; outline: none; min-height: 22px; max-height: 160px; }
.composer .send { background: #007a5a; color: #fff; border: 0; border-radius: 4px; height: 30px; padding: 0 12px; font-weight: 700; cursor: pointer; }
.composer-hint { color: #616061; font-size: 12px; padding: 4px 2px 0; }
.menu { position: fixed; background: #fff; border: 1px solid #dddddd; border-radius: 8px; box-shadow: 0 4px 16px rgba(0,0,0,.15); padding: 6px 0; z-index: 30; min-width: 320px; }
.menu-title { padding: 4px 16px; font-size: 12px; color: #616061; }
.menu-item { display: flex; width: 100%; justify-content: space-between; gap: 16px; text-align: left; border: 0; background: none; padding: 6px 16px; font: inherit; cursor: pointer; }
.menu-item:hover, .menu-item:focus { background: #1264a3; color: #fff; outline: none; }
.menu-app { font-size: 12px; opacity: .7; }
.modal-backdrop { position: fixed; inset: 0; background: rgba(29,28,29,.5); display: flex; align-items: center; justify-content: center; z-index: 20; }
.modal { background: #fff; width: 560px; max-width: calc(100vw - 32px); max-height: 88vh; border-radius: 8px; display: flex; flex-direction: column; box-shadow: 0 18px 48px rgba(0,0,0,.35); }
.modal-head { display: flex; align-items: center; gap: 10px; padding: 16px 24px; border-bottom: 1px solid #e8e8e8; }
.modal-head .app-icon { width: 28px; height: 28px; border-radius: 6px; background: #1d1c1d; color: #fff; display: flex; align-items: center; justify-content: center; }
.modal-title { font-size: 20px; font-weight: 900; margin: 0; flex: 1; }
.modal-x { border: 0; background: none; font-size: 24px; cursor: pointer; color: #616061; }
.modal-body { padding: 16px 24px; overflow-y: auto; }
.modal-body .blk-input { margin: 0 0 18px; }
.modal-body .blk-context, .modal-body .blk-section { margin: 0 0 14px; }
.modal-foot { padding: 14px 24px; border-top: 1px solid #e8e8e8; display: flex; justify-content: flex-end; align-items: center; gap: 8px; }
.modal-status { color: #e01e5a; font-size: 13px; margin-right: auto; }
.f-label { display: block; font-weight: 700; margin-bottom: 6px; }
.f-optional { font-weight: 400; color: #616061; }
.f-input, .f-select { width: 100%; font: inherit; padding: 8px 10px; border: 1px solid #bbbbbb; border-radius: 4px; background: #fff; }
.f-input:focus, .f-select:focus { outline: none; border-color: #1264a3; box-shadow: 0 0 0 1px #1264a3; }
.has-error .f-input, .has-error .f-select { border-color: #e01e5a; }
.f-hint { color: #616061; font-size: 13px; margin-top: 4px; }
.f-error { color: #e01e5a; font-size: 13px; margin-top: 4px; }
.f-choice { display: flex; gap: 8px; align-items: flex-start; margin: 6px 0; cursor: pointer; }
.f-choice input { margin-top: 4px; }
.f-choice-desc { display: block; color: #616061; font-size: 13px; }
#toast { position: fixed; left: 50%; bottom: 24px; transform: translateX(-50%); background: #1d1c1d; color: #fff; padding: 8px 16px; border-radius: 6px; font-size: 14px; z-index: 40; }
`;

/** The app, after the renderer. A `String.raw` string: it never contains a backtick (`\x60` instead) or a dollar-brace. */
const APP_SCRIPT = String.raw`
(function () {
  'use strict';
  var S = {
    me: null, channelId: null, threadTs: null, data: null, es: null, pending: null,
    dismissed: {}, unread: {}, viewKey: null, renderQueued: false
  };
  var LS_USER = 'capstan.console.user';
  var LS_CHANNEL = 'capstan.console.channel';

  function $(sel, root) { return (root || document).querySelector(sel); }

  function api(path, body) {
    return fetch('/console/api/' + path, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (json) {
        if (!res.ok) throw new Error(json.error || 'HTTP ' + res.status);
        return json;
      });
    });
  }

  function toast(text) {
    var node = $('#toast');
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { node.hidden = true; }, 4000);
  }

  function userMap() {
    var map = {};
    S.data.users.forEach(function (u) { map[u.id] = u.name; });
    map[S.data.bot.id] = 'capstan';
    return map;
  }

  function channelMap() {
    var map = {};
    S.data.channels.forEach(function (c) { map[c.id] = c.name; });
    return map;
  }

  function ctx(extra) {
    var c = { users: userMap(), channels: channelMap(), me: S.me };
    for (var k in extra) c[k] = extra[k];
    return c;
  }

  function isTop(m) { return !m.thread_ts || m.thread_ts === m.ts; }
  function byTs(a, b) { return Number(a.ts) - Number(b.ts); }
  function msgKey(m) { return 'm:' + m.channel + ':' + m.ts; }
  function ephKey(e) { return 'e:' + e.channel + ':' + e.ts + ':' + e.user; }
  function fileKey(f) { return 'f:' + f.id; }

  function avatarHtml(userId) {
    if (userId === S.data.bot.id) return '<div class="avatar av-bot" aria-hidden="true">⚓</div>';
    var name = userMap()[userId] || userId || '?';
    var hash = 0;
    for (var i = 0; i < String(userId).length; i++) hash = (hash * 31 + String(userId).charCodeAt(i)) % 6;
    return '<div class="avatar av-' + hash + '" aria-hidden="true">' + esc(name.charAt(0).toUpperCase()) + '</div>';
  }

  function headHtml(userId, ts, edited) {
    var bot = userId === S.data.bot.id;
    var name = bot ? S.data.bot.name : userMap()[userId] || userId;
    return '<div class="msg-head"><span class="author">' + esc(name) + '</span>' +
      (bot ? '<span class="badge">APP</span>' : '') +
      '<span class="time" title="' + esc(ts) + '">' + esc(formatTime(ts)) + '</span>' +
      (edited ? '<span class="edited">(edited)</span>' : '') + '</div>';
  }

  /** Replies (messages and files) per thread: key channel:ts → { count, last }. */
  function replyIndex() {
    var index = {};
    var add = function (channel, threadTs, ts) {
      var key = channel + ':' + threadTs;
      var entry = index[key] || (index[key] = { count: 0, last: '0' });
      entry.count += 1;
      if (Number(ts) > Number(entry.last)) entry.last = ts;
    };
    S.data.messages.forEach(function (m) { if (!isTop(m)) add(m.channel, m.thread_ts, m.ts); });
    S.data.files.forEach(function (f) { if (f.thread_ts) add(f.channel, f.thread_ts, f.ts); });
    return index;
  }

  function messageHtml(m, replies, inThread) {
    var html = '<div class="msg' + (m.bot ? ' from-bot' : '') + '" data-key="' + esc(msgKey(m)) + '" data-channel="' +
      esc(m.channel) + '" data-ts="' + esc(m.ts) + '">' + avatarHtml(m.user) + '<div class="msg-body">' +
      headHtml(m.user, m.ts, m.edited) + messageBodyHtml(m, ctx({})) ;
    if (replies && replies.count > 0 && !inThread) {
      html += '<div class="thread-foot"><button type="button" class="replies" data-thread="' + esc(m.ts) + '">' +
        replies.count + (replies.count === 1 ? ' reply' : ' replies') + '</button><span class="last-reply">Last reply ' +
        esc(formatTime(replies.last)) + '</span></div>';
    }
    html += '</div><div class="msg-actions">';
    if (!inThread || m.ts !== S.threadTs) {
      html += '<button type="button" class="reply-btn" data-thread="' + esc(isTop(m) ? m.ts : m.thread_ts) + '" title="Reply in thread" aria-label="Reply in thread">💬</button>';
    }
    html += '<button type="button" class="more-btn" title="More actions" aria-label="More actions">⋯</button></div></div>';
    return html;
  }

  function ephemeralHtml(e) {
    return '<div class="msg ephemeral" data-key="' + esc(ephKey(e)) + '">' + avatarHtml(S.data.bot.id) +
      '<div class="msg-body">' + headHtml(S.data.bot.id, e.ts, false) +
      '<div class="only-you">👁 Only visible to you' + (e.command ? ' · you typed <code>' + esc(e.command) + '</code>' : '') +
      '<button type="button" class="dismiss" data-dismiss="' + esc(ephKey(e)) + '">Dismiss</button></div>' +
      messageBodyHtml(e, ctx({ inert: true })) + '</div></div>';
  }

  function fileHtml(f) {
    var url = safeUrl(f.url);
    var image = /^image\/(png|jpeg|gif|webp)$/.test(f.mimetype);
    var body = f.comment ? '<div class="msg-text">' + mrkdwn(f.comment, ctx({})) + '</div>' : '';
    body += '<div class="file-card"><div class="file-name">' + esc(f.title) + '</div>';
    if (url && image) {
      body += '<a href="' + esc(url) + '" target="_blank" rel="noopener"><img class="file-img" src="' + esc(url) +
        '" alt="' + esc(f.alt || f.title) + '"></a>';
    } else if (url) {
      body += '<a class="file-link" href="' + esc(url) + '" target="_blank" rel="noopener">📎 ' + esc(f.name) + '</a>';
    }
    body += '</div>';
    return '<div class="msg file-msg" data-key="' + esc(fileKey(f)) + '" data-file="' + esc(f.id) + '">' +
      avatarHtml(S.data.bot.id) + '<div class="msg-body">' + headHtml(S.data.bot.id, f.ts, false) + body + '</div></div>';
  }

  function nodeOf(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    var node = t.content.firstElementChild;
    node.querySelectorAll('[data-color]').forEach(function (el) {
      el.style.borderLeftColor = el.getAttribute('data-color');
    });
    return node;
  }

  /** Brings container's children in line with items ({ key, html }), touching only what changed. */
  function reconcile(container, items) {
    var existing = {};
    Array.prototype.forEach.call(container.children, function (child) {
      if (child.dataset.key) existing[child.dataset.key] = child;
      else child.remove();
    });
    var prev = null;
    items.forEach(function (item) {
      var node = existing[item.key];
      if (node && node.__html === item.html) {
        delete existing[item.key];
      } else {
        var fresh = nodeOf(item.html);
        fresh.__html = item.html;
        if (node) {
          container.replaceChild(fresh, node);
          delete existing[item.key];
          fresh.classList.add('flash');
        }
        node = fresh;
      }
      var want = prev ? prev.nextSibling : container.firstChild;
      if (want !== node) container.insertBefore(node, want);
      prev = node;
    });
    Object.keys(existing).forEach(function (k) { existing[k].remove(); });
  }

  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 60; }

  function channelItems() {
    var items = [];
    var replies = replyIndex();
    var ch = S.channelId;
    S.data.messages.forEach(function (m) {
      if (m.channel === ch && isTop(m)) items.push({ ts: m.ts, key: msgKey(m), html: messageHtml(m, replies[ch + ':' + m.ts], false) });
    });
    S.data.ephemerals.forEach(function (e) {
      if (e.channel === ch && !e.thread_ts && !S.dismissed[ephKey(e)]) items.push({ ts: e.ts, key: ephKey(e), html: ephemeralHtml(e) });
    });
    S.data.files.forEach(function (f) {
      if (f.channel === ch && !f.thread_ts) items.push({ ts: f.ts, key: fileKey(f), html: fileHtml(f) });
    });
    return items.sort(byTs);
  }

  function threadItems() {
    var ch = S.channelId;
    var t = S.threadTs;
    var items = [];
    S.data.messages.forEach(function (m) {
      if (m.channel === ch && (m.ts === t || m.thread_ts === t)) {
        items.push({ ts: m.ts, key: msgKey(m), html: messageHtml(m, null, true), parent: m.ts === t });
      }
    });
    S.data.ephemerals.forEach(function (e) {
      if (e.channel === ch && e.thread_ts === t && !S.dismissed[ephKey(e)]) items.push({ ts: e.ts, key: ephKey(e), html: ephemeralHtml(e) });
    });
    S.data.files.forEach(function (f) {
      if (f.channel === ch && f.thread_ts === t) items.push({ ts: f.ts, key: fileKey(f), html: fileHtml(f) });
    });
    items.sort(function (a, b) { return a.parent ? -1 : b.parent ? 1 : byTs(a, b); });
    var count = items.filter(function (i) { return !i.parent && i.key.charAt(0) !== 'e'; }).length;
    if (items.length && items[0].parent) {
      items.splice(1, 0, { key: 'divider:' + count, html: '<div class="thread-divider" data-key="divider:' + count + '">' + count + (count === 1 ? ' reply' : ' replies') + '</div>' });
    }
    return items;
  }

  function renderSidebar() {
    var list = $('#channel-list');
    var items = S.data.channels.map(function (c) {
      var unread = S.unread[c.id] || 0;
      var cls = 'channel' + (c.id === S.channelId ? ' active' : '') + (unread ? ' unread' : '');
      return { key: 'c:' + c.id, html: '<button type="button" class="' + cls + '" data-key="c:' + esc(c.id) + '" data-channel="' + esc(c.id) + '">' +
        '<span class="hash">#</span><span>' + esc(c.name) + '</span>' + (unread ? '<span class="unread-count">' + unread + '</span>' : '') + '</button>' };
    });
    reconcile(list, items);
    reconcile($('#people'), S.data.users.map(function (u) {
      return { key: 'p:' + u.id, html: '<div class="person' + (u.id === S.me ? ' me' : '') + '" data-key="p:' + esc(u.id) + '"><span class="dot"></span>' +
        esc(u.name) + (u.title ? ' <span class="person-title">' + esc(u.title) + '</span>' : '') + '</div>' };
    }));
  }

  function renderUserSwitch() {
    var select = $('#user-switch');
    if (select.options.length !== S.data.users.length) {
      select.innerHTML = S.data.users.map(function (u) {
        return '<option value="' + esc(u.id) + '">' + esc(u.name) + (u.title ? ' — ' + esc(u.title) : '') + '</option>';
      }).join('');
    }
    select.value = S.me;
  }

  function channelName(id) {
    var c = S.data.channels.filter(function (x) { return x.id === id; })[0];
    return c ? c.name : id;
  }

  function renderChannel() {
    var box = $('#messages');
    var stick = atBottom(box) || box.dataset.channel !== S.channelId;
    $('#channel-title').textContent = '# ' + channelName(S.channelId);
    $('#composer-input').placeholder = 'Message #' + channelName(S.channelId) + ' — try /env list or @capstan lb status prod';
    var items = channelItems();
    if (!items.length) items = [{ key: 'empty', html: '<div class="empty" data-key="empty">No messages in #' + esc(channelName(S.channelId)) + ' yet.</div>' }];
    reconcile(box, items);
    if (stick) box.scrollTop = box.scrollHeight;
    box.dataset.channel = S.channelId;
  }

  function renderThread() {
    var pane = $('#thread');
    if (!S.threadTs) {
      pane.hidden = true;
      return;
    }
    pane.hidden = false;
    $('#thread-sub').textContent = '# ' + channelName(S.channelId);
    var box = $('#thread-messages');
    var stick = atBottom(box) || box.dataset.thread !== S.threadTs;
    reconcile(box, threadItems());
    if (stick) box.scrollTop = box.scrollHeight;
    box.dataset.thread = S.threadTs;
  }

  function topView() {
    var open = S.data.views.filter(function (v) { return v.open !== false; });
    return open[open.length - 1] || null;
  }

  function renderModal() {
    var root = $('#modal-root');
    var view = topView();
    var key = view ? view.id + ':' + (view.hash || '') : null;
    if (key === S.viewKey) return;
    S.viewKey = key;
    if (!view) {
      root.innerHTML = '';
      return;
    }
    root.innerHTML = '<div class="modal-backdrop"><div class="modal" role="dialog" aria-modal="true" data-view-id="' + esc(view.id) + '">' +
      '<div class="modal-head"><span class="app-icon" aria-hidden="true">⚓</span><h2 class="modal-title">' + plainText(view.title) + '</h2>' +
      '<button type="button" class="modal-x" data-close-view aria-label="Close">×</button></div>' +
      '<form class="modal-body" novalidate>' + blocksHtml(view.blocks, ctx({ form: true, inert: true })) + '</form>' +
      '<div class="modal-foot"><span class="modal-status"></span>' +
      '<button type="button" class="btn" data-close-view>' + plainText(view.close || { type: 'plain_text', text: 'Cancel' }) + '</button>' +
      (view.submit ? '<button type="button" class="btn btn-primary" data-submit-view>' + plainText(view.submit) + '</button>' : '') +
      '</div></div></div>';
    var first = root.querySelector('.f-input, .f-select');
    if (first) first.focus();
  }

  function renderAll() {
    S.renderQueued = false;
    if (!S.data) return;
    renderUserSwitch();
    renderSidebar();
    renderChannel();
    renderThread();
    renderModal();
  }

  function scheduleRender() {
    if (S.renderQueued) return;
    S.renderQueued = true;
    setTimeout(renderAll, 0);
  }

  function upsert(list, item, same) {
    for (var i = 0; i < list.length; i++) {
      if (same(list[i], item)) {
        list[i] = item;
        return false;
      }
    }
    list.push(item);
    return true;
  }

  function apply(event) {
    var d = S.data;
    switch (event.type) {
      case 'message': {
        var m = event.message;
        upsert(d.messages, m, function (a, b) { return a.channel === b.channel && a.ts === b.ts; });
        if (!d.channels.some(function (c) { return c.id === m.channel; })) d.channels.push({ id: m.channel, name: m.channel.toLowerCase() });
        if (event.kind === 'posted' && isTop(m) && m.channel !== S.channelId) S.unread[m.channel] = (S.unread[m.channel] || 0) + 1;
        break;
      }
      case 'deleted':
        d.messages = d.messages.filter(function (m) { return !(m.channel === event.channel && m.ts === event.ts); });
        break;
      case 'ephemeral':
        if (event.ephemeral.user === S.me) upsert(d.ephemerals, event.ephemeral, function (a, b) { return ephKey(a) === ephKey(b); });
        break;
      case 'view':
        d.views = d.views.filter(function (v) { return v.id !== event.view.id; });
        if (event.kind !== 'closed' && event.view.open !== false) d.views.push(event.view);
        break;
      case 'file':
        upsert(d.files, event.file, function (a, b) { return a.id === b.id; });
        break;
    }
  }

  function setLive(live) {
    var conn = $('#conn');
    conn.classList.toggle('live', live);
    conn.textContent = live ? 'live' : 'reconnecting…';
    document.body.dataset.live = live ? '1' : '0';
  }

  function loadState() {
    var me = S.me;
    S.pending = [];
    return fetch('/console/api/state?user=' + encodeURIComponent(me)).then(function (res) { return res.json(); }).then(function (data) {
      if (me !== S.me) return;
      S.data = data;
      var pending = S.pending || [];
      S.pending = null;
      pending.forEach(apply);
      if (!S.channelId || !data.channels.some(function (c) { return c.id === S.channelId; })) {
        S.channelId = data.channels.length ? data.channels[0].id : null;
      }
      S.viewKey = undefined;
      renderAll();
      document.body.dataset.user = me;
      document.body.dataset.ready = '1';
    });
  }

  function connect() {
    if (S.es) S.es.close();
    document.body.dataset.ready = '0';
    var es = new EventSource('/console/api/stream?user=' + encodeURIComponent(S.me));
    S.es = es;
    es.onopen = function () {
      setLive(true);
      loadState();
    };
    es.onerror = function () { setLive(false); };
    es.onmessage = function (ev) {
      var event = JSON.parse(ev.data);
      if (S.pending) S.pending.push(event);
      else if (S.data) {
        apply(event);
        scheduleRender();
      }
    };
  }

  function switchUser(id) {
    if (id === S.me) return;
    S.me = id;
    S.dismissed = {};
    try { localStorage.setItem(LS_USER, id); } catch (e) { /* private mode */ }
    if (S.data) {
      S.data.ephemerals = [];
      S.data.views = [];
    }
    closeMenu();
    scheduleRender();
    connect();
  }

  function openChannel(id) {
    S.channelId = id;
    S.threadTs = null;
    S.unread[id] = 0;
    try { localStorage.setItem(LS_CHANNEL, id); } catch (e) { /* private mode */ }
    renderAll();
    $('#composer-input').focus();
  }

  function openThread(ts) {
    S.threadTs = ts;
    renderAll();
    $('#thread-input').focus();
  }

  function send(input, threadTs) {
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize(input);
    var body = { user: S.me, channel: S.channelId, text: text };
    if (threadTs) body.threadTs = threadTs;
    api('command', body).catch(function (err) {
      toast('Could not send: ' + err.message);
      input.value = text;
    });
  }

  function autosize(input) {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 160) + 'px';
  }

  var menuFor = null;
  function closeMenu() {
    $('#menu').hidden = true;
    menuFor = null;
  }

  function openMenu(button, msg) {
    var menu = $('#menu');
    menuFor = { channel: msg.dataset.channel, ts: msg.dataset.ts };
    menu.innerHTML = '<div class="menu-title">Shortcuts</div>' + S.data.shortcuts.map(function (s) {
      return '<button type="button" class="menu-item" role="menuitem" data-callback="' + esc(s.callbackId) + '"><span>' +
        esc(s.name) + '</span><span class="menu-app">Capstan</span></button>';
    }).join('');
    menu.hidden = false;
    var r = button.getBoundingClientRect();
    var left = Math.max(8, Math.min(r.right - menu.offsetWidth, window.innerWidth - menu.offsetWidth - 8));
    var top = r.bottom + 4 + menu.offsetHeight > window.innerHeight ? r.top - menu.offsetHeight - 4 : r.bottom + 4;
    menu.style.left = left + 'px';
    menu.style.top = top + 'px';
  }

  /** view.state.values as Slack sends them, from the modal's inputs. */
  function collectValues(view, root) {
    var values = {};
    var missing = [];
    view.blocks.forEach(function (block, index) {
      if (!block || block.type !== 'input') return;
      var blockId = typeof block.block_id === 'string' ? block.block_id : 'b' + index;
      var el = block.element || {};
      var actionId = typeof el.action_id === 'string' ? el.action_id : 'a0';
      var node = root.querySelector('[data-block-index="' + index + '"] [data-kind]');
      if (!node) return;
      var state = { type: el.type };
      var empty = false;
      var options = Array.isArray(el.options) ? el.options : [];
      switch (el.type) {
        case 'static_select':
          state.selected_option = node.value === '' ? null : options[Number(node.value)] || null;
          empty = !state.selected_option;
          break;
        case 'radio_buttons': {
          var checked = node.querySelector('input:checked');
          state.selected_option = checked ? options[Number(checked.value)] || null : null;
          empty = !state.selected_option;
          break;
        }
        case 'checkboxes':
          state.selected_options = Array.prototype.map.call(node.querySelectorAll('input:checked'), function (i) { return options[Number(i.value)]; });
          empty = state.selected_options.length === 0;
          break;
        case 'datepicker':
          state.selected_date = node.value || null;
          empty = !node.value;
          break;
        default:
          state.value = node.value === '' ? null : node.value;
          empty = node.value.trim() === '';
      }
      if (empty && !block.optional) missing.push(blockId);
      values[blockId] = {};
      values[blockId][actionId] = state;
    });
    return { values: values, missing: missing };
  }

  function showErrors(modal, errors) {
    modal.querySelectorAll('.f-error').forEach(function (node) {
      var text = errors[node.getAttribute('data-error-for')];
      node.textContent = text || '';
      node.hidden = !text;
      node.parentNode.classList.toggle('has-error', !!text);
    });
  }

  function submitView(modal) {
    var view = topView();
    if (!view || view.id !== modal.dataset.viewId) return;
    var collected = collectValues(view, modal);
    var status = modal.querySelector('.modal-status');
    if (collected.missing.length) {
      var errs = {};
      collected.missing.forEach(function (id) { errs[id] = 'Please complete this required field.'; });
      showErrors(modal, errs);
      return;
    }
    showErrors(modal, {});
    var button = modal.querySelector('[data-submit-view]');
    button.disabled = true;
    status.textContent = '';
    api('view-submit', { user: S.me, viewId: view.id, values: collected.values }).then(function (res) {
      button.disabled = false;
      if (res.errors) showErrors(modal, res.errors);
      else if (!res.ok) status.textContent = 'Capstan did not take it: ' + (res.error || 'unknown error');
    }, function (err) {
      button.disabled = false;
      status.textContent = 'Could not submit: ' + err.message;
    });
  }

  document.addEventListener('click', function (ev) {
    var target = ev.target.closest ? ev.target : ev.target.parentElement;
    if (!target) return;
    var el;
    if ((el = target.closest('.menu-item'))) {
      var on = menuFor;
      closeMenu();
      if (on) {
        api('shortcut', { user: S.me, channel: on.channel, ts: on.ts, callbackId: el.dataset.callback }).catch(function (err) { toast('Shortcut failed: ' + err.message); });
      }
      return;
    }
    if (!target.closest('#menu')) {
      if ((el = target.closest('.more-btn'))) {
        openMenu(el, el.closest('.msg'));
        return;
      }
      closeMenu();
    }
    if ((el = target.closest('.channel'))) return openChannel(el.dataset.channel);
    if ((el = target.closest('[data-thread]'))) return openThread(el.dataset.thread);
    if ((el = target.closest('.thread-close'))) {
      S.threadTs = null;
      return renderAll();
    }
    if ((el = target.closest('.dismiss'))) {
      S.dismissed[el.dataset.dismiss] = true;
      return renderAll();
    }
    if ((el = target.closest('[data-close-view]'))) {
      var modal = el.closest('.modal');
      return api('view-close', { user: S.me, viewId: modal.dataset.viewId }).catch(function () {
        S.data.views = S.data.views.filter(function (v) { return v.id !== modal.dataset.viewId; });
        renderAll();
      });
    }
    if ((el = target.closest('[data-submit-view]'))) return submitView(el.closest('.modal'));
    if ((el = target.closest('.msg [data-kind="button"]'))) {
      if (el.disabled) return;
      var msg = el.closest('.msg');
      if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
      if (el.dataset.url) window.open(el.dataset.url, '_blank', 'noopener');
      el.disabled = true;
      el.classList.add('busy');
      var body = { user: S.me, channel: msg.dataset.channel, ts: msg.dataset.ts, actionId: el.dataset.actionId, value: el.dataset.value || '', blockId: el.dataset.blockId || '', text: el.dataset.text || '' };
      api('action', body).catch(function (err) { toast('Click failed: ' + err.message); }).then(function () {
        setTimeout(function () {
          el.disabled = false;
          el.classList.remove('busy');
        }, 800);
      });
    }
  });

  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') {
      closeMenu();
      return;
    }
    var input = ev.target;
    if (ev.key === 'Enter' && !ev.shiftKey && (input.id === 'composer-input' || input.id === 'thread-input')) {
      ev.preventDefault();
      send(input, input.id === 'thread-input' ? S.threadTs : null);
    }
  });

  document.addEventListener('input', function (ev) {
    if (ev.target.id === 'composer-input' || ev.target.id === 'thread-input') autosize(ev.target);
  });

  $('#composer').addEventListener('submit', function (ev) {
    ev.preventDefault();
    send($('#composer-input'), null);
  });
  $('#thread-composer').addEventListener('submit', function (ev) {
    ev.preventDefault();
    send($('#thread-input'), S.threadTs);
  });
  $('#user-switch').addEventListener('change', function (ev) { switchUser(ev.target.value); });

  var params = new URLSearchParams(location.search);
  var stored = null;
  try { stored = localStorage.getItem(LS_USER); } catch (e) { /* private mode */ }
  fetch('/console/api/state').then(function (res) { return res.json(); }).then(function (data) {
    var ids = data.users.map(function (u) { return u.id; });
    var wanted = params.get('user') || stored;
    S.me = ids.indexOf(wanted) >= 0 ? wanted : ids[0];
    var channel = params.get('channel');
    if (!channel) try { channel = localStorage.getItem(LS_CHANNEL); } catch (e) { /* private mode */ }
    if (channel && data.channels.some(function (c) { return c.id === channel; })) S.channelId = channel;
    connect();
  });
})();
`;

/** The console page, with `nonce` on its inline style and script (the server's Content-Security-Policy names it). */
export function consolePage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Capstan console</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLES}</style>
</head>
<body>
<div id="app">
  <header id="topbar">
    <span class="brand">⚓ Capstan console</span>
    <span class="note">Local mode · loopback only · everything you do is sent to Capstan's /slack/events as a signed Slack request</span>
    <label>Acting as <select id="user-switch" aria-label="Acting as"></select></label>
    <span id="conn">connecting…</span>
  </header>
  <nav id="sidebar" aria-label="Channels">
    <div class="ws-name">Capstan (local)<span class="ws-sub">sandbox workspace</span></div>
    <div class="section-title">Channels</div>
    <div id="channel-list"></div>
    <div class="section-title">People</div>
    <div id="people"></div>
  </nav>
  <main id="main">
    <div class="pane-header"><h1 id="channel-title"></h1></div>
    <div id="messages" class="messages" aria-live="polite"></div>
    <div class="composer-wrap">
      <form id="composer" class="composer" autocomplete="off">
        <textarea id="composer-input" rows="1" aria-label="Message"></textarea>
        <button type="submit" class="send">Send</button>
      </form>
      <div class="composer-hint">Slash commands: <code>/env</code> <code>/lb</code> <code>/rds</code> <code>/ops help</code> · <code>@capstan …</code> mentions Capstan · anything else is posted as a message (hover it, ⋯ for shortcuts) · Enter sends, Shift+Enter adds a line</div>
    </div>
  </main>
  <aside id="thread" hidden aria-label="Thread">
    <div class="pane-header"><h2>Thread</h2><span id="thread-sub" class="sub"></span><button type="button" class="thread-close" aria-label="Close thread">×</button></div>
    <div id="thread-messages" class="messages"></div>
    <div class="composer-wrap">
      <form id="thread-composer" class="composer" autocomplete="off">
        <textarea id="thread-input" rows="1" aria-label="Reply" placeholder="Reply… (@capstan … works here)"></textarea>
        <button type="submit" class="send">Reply</button>
      </form>
    </div>
  </aside>
</div>
<div id="menu" class="menu" role="menu" hidden></div>
<div id="modal-root"></div>
<div id="toast" role="status" hidden></div>
<script nonce="${nonce}">${RENDER_SCRIPT}
${APP_SCRIPT}</script>
</body>
</html>
`;
}
