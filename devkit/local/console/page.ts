/**
 * The console page: one HTML document with its CSS and JavaScript inline, no framework and no
 * bundler. A Slack-like client: channels on the left, messages in the middle, a thread pane on the
 * right, a composer, a user switcher, modals; its scripts are TypeScript in `browser/` (the renderer,
 * `render.ts`, then the app, `app.ts`) and talk only to the console's own `/console/api/*` routes
 * (see `server.ts`). Every HTML string the page inserts comes from the renderer, which escapes all
 * text.
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

/** The app (`browser/app.ts`), which runs after the renderer and uses its functions. */
const APP_SCRIPT = browserScript('app.ts');

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
.pane { display: flex; flex-direction: column; flex: 1; min-width: 0; min-height: 0; }
.app-link .hash { width: 12px; }
.home-view { flex: 1; overflow-y: auto; padding: 12px 20px 24px; min-height: 0; }
.home-view .blk-section { padding: 2px 0; }
.steps-view { flex: 1; overflow-y: auto; padding: 16px 20px 24px; min-height: 0; }
.step-form { max-width: 640px; border: 1px solid #dddddd; border-radius: 8px; padding: 16px 20px; margin-bottom: 20px; }
.step-form .f-row { margin: 0 0 14px; }
.step-desc { color: #616061; margin: 6px 0 14px; }
.step-foot { display: flex; align-items: center; gap: 12px; }
.step-runs-title { font-size: 15px; font-weight: 900; margin: 8px 0; }
.step-run { border: 1px solid #dddddd; border-left-width: 4px; border-radius: 6px; padding: 10px 14px; margin: 0 0 10px; max-width: 760px; }
.step-run.state-running { border-left-color: #1264a3; }
.step-run.state-completed { border-left-color: #2eb67d; }
.step-run.state-failed { border-left-color: #e01e5a; }
.run-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.run-title { font-weight: 900; }
.run-id { color: #616061; font-size: 12px; }
.run-state { font-size: 13px; font-weight: 700; }
.run-inputs { color: #616061; font-size: 13px; margin-top: 4px; }
.run-outputs { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 0; }
.run-outputs dt { color: #616061; }
.run-outputs dd { margin: 0; }
.run-error { color: #e01e5a; margin-top: 6px; white-space: pre-wrap; }
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
    <div class="section-title">Apps</div>
    <button type="button" class="channel app-link" data-pane="home"><span class="hash">⚓</span><span>Capstan — Home</span></button>
    <button type="button" class="channel app-link" data-pane="steps"><span class="hash">⚙</span><span>Workflow steps</span></button>
    <div class="section-title">People</div>
    <div id="people"></div>
  </nav>
  <main id="main">
    <section id="home-pane" class="pane" hidden aria-label="Capstan's Home tab">
      <div class="pane-header"><h1>Capstan</h1><span class="sub">Home · published by Capstan with views.publish, for you alone</span></div>
      <div id="home-view" class="home-view"></div>
    </section>
    <section id="steps-pane" class="pane" hidden aria-label="Workflow steps">
      <div class="pane-header"><h1>Workflow steps</h1><span class="sub">run one of Capstan's custom steps as a workflow would (function_executed)</span></div>
      <div class="steps-view">
        <form id="step-form" class="step-form" autocomplete="off" novalidate>
          <label class="f-label" for="step-select">Step</label>
          <select id="step-select" class="f-select"></select>
          <p id="step-desc" class="step-desc"></p>
          <div id="step-inputs"></div>
          <div class="step-foot"><button type="submit" class="btn btn-primary" id="step-run">Run step</button><span id="step-status" class="modal-status"></span></div>
        </form>
        <h2 class="step-runs-title">Runs</h2>
        <div id="step-runs"></div>
      </div>
    </section>
    <section id="channel-pane" class="pane">
    <div class="pane-header"><h1 id="channel-title"></h1></div>
    <div id="messages" class="messages" aria-live="polite"></div>
    <div class="composer-wrap">
      <form id="composer" class="composer" autocomplete="off">
        <textarea id="composer-input" rows="1" aria-label="Message"></textarea>
        <button type="submit" class="send">Send</button>
      </form>
      <div class="composer-hint">Slash commands: <code>/env</code> <code>/lb</code> <code>/rds</code> <code>/ops help</code> · <code>@capstan …</code> mentions Capstan · anything else is posted as a message (hover it, ⋯ for shortcuts) · Enter sends, Shift+Enter adds a line</div>
    </div>
    </section>
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
