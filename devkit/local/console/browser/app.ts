/**
 * The console page's app: a Slack-like client (channels, messages, threads, a composer, a user
 * switcher, the "…" menu, modals) that talks only to the console's own `/console/api/*` routes
 * (`server.ts`) and renders with `render.ts`, whose functions it calls as globals.
 *
 * A classic script, not a module (no import, no export): `page.ts` transpiles it and puts it in the
 * page's one inline script after `render.ts`. Its own names stay inside one function scope. The shapes
 * it reads and sends are `wire.ts`'s, the types the server builds its answers with. Every HTML string
 * it inserts is built from the renderer's escaped output.
 */

type ConsoleState = import('../wire.js').ConsoleState;
type ConsoleEvent = import('../wire.js').ConsoleEvent;
type WireMessage = import('../wire.js').WireMessage;
type WireEphemeral = import('../wire.js').WireEphemeral;
type WireFile = import('../wire.js').WireFile;
type WireView = import('../wire.js').WireView;
type WireStep = import('../wire.js').WireStep;
type WireStepInput = import('../wire.js').WireStepInput;
type WireStepRun = import('../wire.js').WireStepRun;
type ErrorResponse = import('../wire.js').ErrorResponse;

/** Each POST route of `/console/api/`: what the page sends, what the server answers. */
interface ConsoleRoutes {
  command: [import('../wire.js').CommandRequest, import('../wire.js').DeliveryResponse];
  action: [import('../wire.js').ActionRequest, import('../wire.js').DeliveryResponse];
  shortcut: [import('../wire.js').ShortcutRequest, import('../wire.js').DeliveryResponse];
  'view-submit': [import('../wire.js').ViewSubmitRequest, import('../wire.js').ViewResponse];
  'view-close': [import('../wire.js').ViewCloseRequest, import('../wire.js').ViewResponse];
  'home-open': [import('../wire.js').HomeOpenRequest, import('../wire.js').DeliveryResponse];
  'home-action': [import('../wire.js').HomeActionRequest, import('../wire.js').DeliveryResponse];
  'step-run': [import('../wire.js').StepRunRequest, import('../wire.js').StepRunResponse];
}

/** A thread's replies (messages and files): how many, and the ts of the last. */
interface Replies {
  count: number;
  last: string;
}

/** One child of a list the page keeps in line with the state: its key (`data-key`) and its HTML. */
interface ListItem {
  key: string;
  html: string;
  /** Where it sorts among the others. */
  ts?: string;
  /** The thread's parent message, first in the thread pane. */
  parent?: boolean;
}

/** An input's entry in `view.state.values` (https://api.slack.com/reference/interaction-payloads/views#view_submission). */
type InputState = {
  type: string | undefined;
  selected_option?: OptionObject | null;
  selected_options?: (OptionObject | undefined)[];
  selected_date?: string | null;
  value?: string | null;
};

(() => {
  const S = {
    /** The user the page acts as. */
    me: '',
    channelId: null as string | null,
    /** The thread open in the thread pane. */
    threadTs: null as string | null,
    data: null as ConsoleState | null,
    es: null as EventSource | null,
    /** Events that arrived while the state was being loaded, applied once it is. */
    pending: null as ConsoleEvent[] | null,
    /** Ephemerals dismissed, by key. */
    dismissed: {} as Record<string, boolean>,
    /** Unread top-level messages per channel id. */
    unread: {} as Record<string, number>,
    /** The modal shown (id and hash); undefined forces the next render to redraw it. */
    viewKey: null as string | null | undefined,
    renderQueued: false,
    /** What the middle shows: a channel, Capstan's Home tab, or the Workflow steps form. */
    pane: 'channel' as 'channel' | 'home' | 'steps',
    /** The Home tab shown (user, id and hash); a change redraws it. */
    homeKey: null as string | null,
    /** The step whose form is shown, and for whom it was drawn. */
    stepId: null as string | null,
    stepFormKey: null as string | null,
  };
  const LS_USER = 'capstan.console.user';
  const LS_CHANNEL = 'capstan.console.channel';
  /** The HTML each list child was made from: a child whose HTML is unchanged is left alone. */
  const rendered = new WeakMap<Element, string>();

  /** The element `sel` under `root`; the page's markup (page.ts) and the renderer always have it. */
  function $<T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T {
    const node = root.querySelector<T>(sel);
    if (!node) throw new Error(`no ${sel} in the page`);
    return node;
  }

  /** The state, once loaded (everything that renders runs after that). */
  function loaded(): ConsoleState {
    if (!S.data) throw new Error('the state is not loaded yet');
    return S.data;
  }

  function api<P extends keyof ConsoleRoutes>(
    path: P,
    body: ConsoleRoutes[P][0],
  ): Promise<ConsoleRoutes[P][1]> {
    return fetch(`/console/api/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((res) =>
      res.json().then((json: ConsoleRoutes[P][1] | ErrorResponse) => {
        if (!res.ok) throw new Error(('error' in json && json.error) || `HTTP ${res.status}`);
        return json as ConsoleRoutes[P][1];
      }),
    );
  }

  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  function toast(text: string): void {
    const node = $('#toast');
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      node.hidden = true;
    }, 4000);
  }

  function userMap(): Record<string, string> {
    const data = loaded();
    const map: Record<string, string> = {};
    data.users.forEach((u) => {
      map[u.id] = u.name;
    });
    map[data.bot.id] = 'capstan';
    return map;
  }

  function channelMap(): Record<string, string> {
    const map: Record<string, string> = {};
    loaded().channels.forEach((c) => {
      map[c.id] = c.name;
    });
    return map;
  }

  function ctx(extra: RenderContext): RenderContext {
    return { users: userMap(), channels: channelMap(), me: S.me, ...extra };
  }

  function isTop(m: WireMessage): boolean {
    return !m.thread_ts || m.thread_ts === m.ts;
  }
  function byTs(a: { ts?: string }, b: { ts?: string }): number {
    return Number(a.ts) - Number(b.ts);
  }
  function msgKey(m: WireMessage): string {
    return `m:${m.channel}:${m.ts}`;
  }
  function ephKey(e: WireEphemeral): string {
    return `e:${e.channel}:${e.ts}:${e.user}`;
  }
  function fileKey(f: WireFile): string {
    return `f:${f.id}`;
  }

  function avatarHtml(userId: string | null): string {
    if (userId === loaded().bot.id) return '<div class="avatar av-bot" aria-hidden="true">⚓</div>';
    const name = userMap()[String(userId)] || userId || '?';
    let hash = 0;
    for (let i = 0; i < String(userId).length; i++) hash = (hash * 31 + String(userId).charCodeAt(i)) % 6;
    return `<div class="avatar av-${hash}" aria-hidden="true">${esc(name.charAt(0).toUpperCase())}</div>`;
  }

  function headHtml(userId: string | null, ts: string, edited: boolean): string {
    const bot = userId === loaded().bot.id;
    const name = bot ? loaded().bot.name : userMap()[String(userId)] || userId;
    return (
      `<div class="msg-head"><span class="author">${esc(name)}</span>` +
      (bot ? '<span class="badge">APP</span>' : '') +
      `<span class="time" title="${esc(ts)}">${esc(formatTime(ts))}</span>` +
      (edited ? '<span class="edited">(edited)</span>' : '') +
      '</div>'
    );
  }

  /** Replies (messages and files) per thread: key channel:ts → { count, last }. */
  function replyIndex(): Record<string, Replies> {
    const index: Record<string, Replies> = {};
    const add = (channel: string, threadTs: string | null, ts: string) => {
      const key = `${channel}:${threadTs}`;
      let entry = index[key];
      if (!entry) {
        entry = { count: 0, last: '0' };
        index[key] = entry;
      }
      entry.count += 1;
      if (Number(ts) > Number(entry.last)) entry.last = ts;
    };
    loaded().messages.forEach((m) => {
      if (!isTop(m)) add(m.channel, m.thread_ts, m.ts);
    });
    loaded().files.forEach((f) => {
      if (f.thread_ts) add(f.channel, f.thread_ts, f.ts);
    });
    return index;
  }

  function messageHtml(m: WireMessage, replies: Replies | null | undefined, inThread: boolean): string {
    let html =
      `<div class="msg${m.bot ? ' from-bot' : ''}" data-key="${esc(msgKey(m))}" data-channel="${esc(m.channel)}" data-ts="${esc(m.ts)}">` +
      `${avatarHtml(m.user)}<div class="msg-body">${headHtml(m.user, m.ts, m.edited)}${messageBodyHtml(m, ctx({}))}`;
    if (replies && replies.count > 0 && !inThread) {
      html +=
        `<div class="thread-foot"><button type="button" class="replies" data-thread="${esc(m.ts)}">` +
        `${replies.count}${replies.count === 1 ? ' reply' : ' replies'}</button>` +
        `<span class="last-reply">Last reply ${esc(formatTime(replies.last))}</span></div>`;
    }
    html += '</div><div class="msg-actions">';
    if (!inThread || m.ts !== S.threadTs) {
      html += `<button type="button" class="reply-btn" data-thread="${esc(isTop(m) ? m.ts : m.thread_ts)}" title="Reply in thread" aria-label="Reply in thread">💬</button>`;
    }
    html +=
      '<button type="button" class="more-btn" title="More actions" aria-label="More actions">⋯</button></div></div>';
    return html;
  }

  function ephemeralHtml(e: WireEphemeral): string {
    const bot = loaded().bot.id;
    return (
      `<div class="msg ephemeral" data-key="${esc(ephKey(e))}">${avatarHtml(bot)}` +
      `<div class="msg-body">${headHtml(bot, e.ts, false)}` +
      '<div class="only-you">👁 Only visible to you' +
      (e.command ? ` · you typed <code>${esc(e.command)}</code>` : '') +
      `<button type="button" class="dismiss" data-dismiss="${esc(ephKey(e))}">Dismiss</button></div>` +
      `${messageBodyHtml(e, ctx({ inert: true }))}</div></div>`
    );
  }

  function fileHtml(f: WireFile): string {
    const url = safeUrl(f.url);
    const image = /^image\/(png|jpeg|gif|webp)$/.test(f.mimetype);
    let body = f.comment ? `<div class="msg-text">${mrkdwn(f.comment, ctx({}))}</div>` : '';
    body += `<div class="file-card"><div class="file-name">${esc(f.title)}</div>`;
    if (url && image) {
      body += `<a href="${esc(url)}" target="_blank" rel="noopener"><img class="file-img" src="${esc(url)}" alt="${esc(f.alt || f.title)}"></a>`;
    } else if (url) {
      body += `<a class="file-link" href="${esc(url)}" target="_blank" rel="noopener">📎 ${esc(f.name)}</a>`;
    }
    body += '</div>';
    const bot = loaded().bot.id;
    return (
      `<div class="msg file-msg" data-key="${esc(fileKey(f))}" data-file="${esc(f.id)}">` +
      `${avatarHtml(bot)}<div class="msg-body">${headHtml(bot, f.ts, false)}${body}</div></div>`
    );
  }

  function nodeOf(html: string): Element {
    const t = document.createElement('template');
    t.innerHTML = html;
    const node = t.content.firstElementChild;
    if (!node) throw new Error('no element in the HTML');
    // The Content-Security-Policy allows no inline style attribute: attachments' colours are set here.
    node.querySelectorAll<HTMLElement>('[data-color]').forEach((el) => {
      el.style.borderLeftColor = el.getAttribute('data-color') ?? '';
    });
    return node;
  }

  /** Brings container's children in line with items ({ key, html }), touching only what changed. */
  function reconcile(container: Element, items: ListItem[]): void {
    const existing = new Map<string, Element>();
    for (const child of Array.from(container.children)) {
      const key = child.getAttribute('data-key');
      if (key) existing.set(key, child);
      else child.remove();
    }
    let prev: Element | null = null;
    items.forEach((item) => {
      let node = existing.get(item.key);
      if (node && rendered.get(node) === item.html) {
        existing.delete(item.key);
      } else {
        const fresh = nodeOf(item.html);
        rendered.set(fresh, item.html);
        if (node) {
          container.replaceChild(fresh, node);
          existing.delete(item.key);
          fresh.classList.add('flash');
        }
        node = fresh;
      }
      const want: ChildNode | null = prev ? prev.nextSibling : container.firstChild;
      if (want !== node) container.insertBefore(node, want);
      prev = node;
    });
    existing.forEach((node) => {
      node.remove();
    });
  }

  function atBottom(el: Element): boolean {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 60;
  }

  function channelItems(): ListItem[] {
    const data = loaded();
    const items: ListItem[] = [];
    const replies = replyIndex();
    const ch = S.channelId;
    data.messages.forEach((m) => {
      if (m.channel === ch && isTop(m)) {
        items.push({ ts: m.ts, key: msgKey(m), html: messageHtml(m, replies[`${ch}:${m.ts}`], false) });
      }
    });
    data.ephemerals.forEach((e) => {
      if (e.channel === ch && !e.thread_ts && !S.dismissed[ephKey(e)]) {
        items.push({ ts: e.ts, key: ephKey(e), html: ephemeralHtml(e) });
      }
    });
    data.files.forEach((f) => {
      if (f.channel === ch && !f.thread_ts) items.push({ ts: f.ts, key: fileKey(f), html: fileHtml(f) });
    });
    return items.sort(byTs);
  }

  function threadItems(): ListItem[] {
    const data = loaded();
    const ch = S.channelId;
    const t = S.threadTs;
    const items: ListItem[] = [];
    data.messages.forEach((m) => {
      if (m.channel === ch && (m.ts === t || m.thread_ts === t)) {
        items.push({ ts: m.ts, key: msgKey(m), html: messageHtml(m, null, true), parent: m.ts === t });
      }
    });
    data.ephemerals.forEach((e) => {
      if (e.channel === ch && e.thread_ts === t && !S.dismissed[ephKey(e)]) {
        items.push({ ts: e.ts, key: ephKey(e), html: ephemeralHtml(e) });
      }
    });
    data.files.forEach((f) => {
      if (f.channel === ch && f.thread_ts === t) items.push({ ts: f.ts, key: fileKey(f), html: fileHtml(f) });
    });
    items.sort((a, b) => (a.parent ? -1 : b.parent ? 1 : byTs(a, b)));
    const count = items.filter((i) => !i.parent && i.key.charAt(0) !== 'e').length;
    if (items.length && items[0]?.parent) {
      items.splice(1, 0, {
        key: `divider:${count}`,
        html: `<div class="thread-divider" data-key="divider:${count}">${count}${count === 1 ? ' reply' : ' replies'}</div>`,
      });
    }
    return items;
  }

  function renderSidebar(): void {
    const data = loaded();
    const items = data.channels.map((c) => {
      const unread = S.unread[c.id] || 0;
      const active = S.pane === 'channel' && c.id === S.channelId;
      const cls = `channel${active ? ' active' : ''}${unread ? ' unread' : ''}`;
      return {
        key: `c:${c.id}`,
        html:
          `<button type="button" class="${cls}" data-key="c:${esc(c.id)}" data-channel="${esc(c.id)}">` +
          `<span class="hash">${c.id === data.dm.id ? '⚓' : '#'}</span><span>${esc(c.name)}</span>` +
          (unread ? `<span class="unread-count">${unread}</span>` : '') +
          '</button>',
      };
    });
    reconcile($('#channel-list'), items);
    document.querySelectorAll<HTMLElement>('.app-link').forEach((link) => {
      link.classList.toggle('active', link.dataset.pane === S.pane);
    });
    reconcile(
      $('#people'),
      data.users.map((u) => ({
        key: `p:${u.id}`,
        html:
          `<div class="person${u.id === S.me ? ' me' : ''}" data-key="p:${esc(u.id)}"><span class="dot"></span>` +
          esc(u.name) +
          (u.title ? ` <span class="person-title">${esc(u.title)}</span>` : '') +
          '</div>',
      })),
    );
  }

  function renderUserSwitch(): void {
    const users = loaded().users;
    const select = $<HTMLSelectElement>('#user-switch');
    if (select.options.length !== users.length) {
      select.innerHTML = users
        .map(
          (u) => `<option value="${esc(u.id)}">${esc(u.name)}${u.title ? ` — ${esc(u.title)}` : ''}</option>`,
        )
        .join('');
    }
    select.value = S.me;
  }

  function channelName(id: string | null): string | null {
    const c = loaded().channels.filter((x) => x.id === id)[0];
    return c ? c.name : id;
  }

  /** `# ops`, or `⚓ capstan (messages)` for one's direct messages with Capstan. */
  function channelTitle(id: string | null): string {
    return `${id === loaded().dm.id ? '⚓' : '#'} ${channelName(id)}`;
  }

  function renderChannel(): void {
    const box = $('#messages');
    const stick = atBottom(box) || box.dataset.channel !== S.channelId;
    $('#channel-title').textContent = channelTitle(S.channelId);
    $<HTMLTextAreaElement>('#composer-input').placeholder =
      `Message ${channelTitle(S.channelId).replace('# ', '#')} — try /env list or @capstan lb status prod`;
    let items = channelItems();
    if (!items.length) {
      items = [
        {
          key: 'empty',
          html: `<div class="empty" data-key="empty">No messages in #${esc(channelName(S.channelId))} yet.</div>`,
        },
      ];
    }
    reconcile(box, items);
    if (stick) box.scrollTop = box.scrollHeight;
    box.dataset.channel = String(S.channelId);
  }

  function renderThread(): void {
    const pane = $('#thread');
    if (!S.threadTs) {
      pane.hidden = true;
      return;
    }
    pane.hidden = false;
    $('#thread-sub').textContent = channelTitle(S.channelId);
    const box = $('#thread-messages');
    const stick = atBottom(box) || box.dataset.thread !== S.threadTs;
    reconcile(box, threadItems());
    if (stick) box.scrollTop = box.scrollHeight;
    box.dataset.thread = S.threadTs;
  }

  function topView(): WireView | null {
    const open = loaded().views.filter((v) => v.open !== false);
    return open[open.length - 1] || null;
  }

  function renderModal(): void {
    const root = $('#modal-root');
    const view = topView();
    const key = view ? `${view.id}:${view.hash || ''}` : null;
    if (key === S.viewKey) return;
    S.viewKey = key;
    if (!view) {
      root.innerHTML = '';
      return;
    }
    root.innerHTML =
      `<div class="modal-backdrop"><div class="modal" role="dialog" aria-modal="true" data-view-id="${esc(view.id)}">` +
      `<div class="modal-head"><span class="app-icon" aria-hidden="true">⚓</span><h2 class="modal-title">${plainText(view.title)}</h2>` +
      '<button type="button" class="modal-x" data-close-view aria-label="Close">×</button></div>' +
      `<form class="modal-body" novalidate>${blocksHtml(view.blocks, ctx({ form: true, inert: true }))}</form>` +
      '<div class="modal-foot"><span class="modal-status"></span>' +
      `<button type="button" class="btn" data-close-view>${plainText(view.close || { type: 'plain_text', text: 'Cancel' })}</button>` +
      (view.submit
        ? `<button type="button" class="btn btn-primary" data-submit-view>${plainText(view.submit)}</button>`
        : '') +
      '</div></div></div>';
    const first = root.querySelector<HTMLElement>('.f-input, .f-select');
    if (first) first.focus();
  }

  /** The Home tab as Capstan last published it for this user; its buttons work as in a message. */
  function renderHome(): void {
    const home = loaded().home;
    const key = home ? `${S.me}:${home.id}:${home.hash}` : `${S.me}:none`;
    if (key === S.homeKey) return;
    S.homeKey = key;
    const box = $('#home-view');
    box.replaceChildren(
      nodeOf(
        home
          ? `<div class="home-blocks" data-view-id="${esc(home.id)}">${blocksHtml(home.blocks, ctx({}))}</div>`
          : '<div class="empty">Waiting for Capstan to publish your Home tab…</div>',
      ),
    );
    box.dataset.hash = home ? home.hash : '';
  }

  function optionHtml(value: string, label: string, selected: boolean): string {
    return `<option value="${esc(value)}"${selected ? ' selected' : ''}>${esc(label)}</option>`;
  }

  /** The label, control and error line of one step input (`data-input` names it). */
  function stepInputHtml(input: WireStepInput): string {
    const data = loaded();
    const name = esc(input.name);
    const common = ` class="f-select" data-input="${name}" id="step-in-${name}"`;
    let control: string;
    switch (input.type) {
      case 'slack#/types/user_id':
        control = `<select${common}>${data.users
          .map((u) => optionHtml(u.id, `${u.name} (${u.id})`, u.id === S.me))
          .join('')}</select>`;
        break;
      case 'slack#/types/channel_id':
        control = `<select${common}>${data.channels
          .map((c) => optionHtml(c.id, `#${c.name}`, c.id === S.channelId))
          .join('')}</select>`;
        break;
      case 'slack#/types/timestamp':
        control = `<input class="f-input" type="datetime-local" step="1" data-input="${name}" id="step-in-${name}">`;
        break;
      case 'integer':
        control = `<input class="f-input" type="number" step="1" data-input="${name}" id="step-in-${name}">`;
        break;
      default:
        control = `<input class="f-input" type="text" data-input="${name}" id="step-in-${name}">`;
    }
    return (
      `<div class="f-row" data-row="${name}"><label class="f-label" for="step-in-${name}">${esc(input.title)}` +
      (input.required ? '' : ' <span class="f-optional">(optional)</span>') +
      `</label>${control}<div class="f-hint">${esc(input.description)}${input.hint ? ` ${esc(input.hint)}` : ''}</div>` +
      `<div class="f-error" data-error-for="${name}" hidden></div></div>`
    );
  }

  function currentStep(): WireStep | undefined {
    const steps = loaded().steps;
    return steps.find((s) => s.callbackId === S.stepId) ?? steps[0];
  }

  function renderSteps(): void {
    const data = loaded();
    const select = $<HTMLSelectElement>('#step-select');
    if (select.options.length !== data.steps.length) {
      select.innerHTML = data.steps
        .map((s) => `<option value="${esc(s.callbackId)}">${esc(s.title)} (${esc(s.callbackId)})</option>`)
        .join('');
    }
    const step = currentStep();
    S.stepId = step ? step.callbackId : null;
    select.value = S.stepId ?? '';
    // Drawn again only for another step or person: what was typed stays.
    const formKey = `${S.me}:${S.stepId}`;
    if (formKey !== S.stepFormKey) {
      S.stepFormKey = formKey;
      $('#step-desc').textContent = step ? step.description : 'Capstan declares no steps.';
      $('#step-inputs').innerHTML = step ? step.inputs.map(stepInputHtml).join('') : '';
      $('#step-status').textContent = '';
    }
    const runs = data.stepRuns.slice().reverse();
    reconcile(
      $('#step-runs'),
      runs.length
        ? runs.map((run) => ({ key: `run:${run.executionId}`, html: stepRunHtml(run) }))
        : [{ key: 'none', html: '<div class="empty" data-key="none">No step run yet.</div>' }],
    );
  }

  function valueText(value: unknown): string {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  /** A run: what it was given, and how Capstan ended it (outputs or error), all as plain text. */
  function stepRunHtml(run: WireStepRun): string {
    const state =
      run.state === 'running'
        ? run.status && run.status !== 200
          ? `Running · Capstan answered HTTP ${run.status}`
          : 'Running…'
        : run.state === 'completed'
          ? '✅ Completed'
          : '❌ Failed';
    const inputs = Object.entries(run.inputs)
      .map(([k, v]) => `${esc(k)}: ${esc(valueText(v))}`)
      .join(' · ');
    let html =
      `<div class="step-run state-${esc(run.state)}" data-key="run:${esc(run.executionId)}" data-execution="${esc(run.executionId)}" data-state="${esc(run.state)}">` +
      `<div class="run-head"><span class="run-title">${esc(run.title)}</span><span class="run-state">${esc(state)}</span>` +
      `<span class="run-id">${esc(run.executionId)}</span></div><div class="run-inputs">${inputs}</div>`;
    if (run.outputs) {
      html += `<dl class="run-outputs">${run.outputs
        .map(
          (o) => `<dt>${esc(o.title)}</dt><dd data-output="${esc(o.name)}">${esc(valueText(o.value))}</dd>`,
        )
        .join('')}</dl>`;
    }
    if (run.error !== undefined) html += `<div class="run-error">${esc(run.error)}</div>`;
    return `${html}</div>`;
  }

  /** What the step form holds, typed as the step's inputs are; empty ones left out. */
  function stepFormInputs(step: WireStep): Record<string, string | number> {
    const inputs: Record<string, string | number> = {};
    step.inputs.forEach((input) => {
      const node = document.querySelector(`#step-inputs [data-input="${CSS.escape(input.name)}"]`);
      const raw = node ? controlValue(node).trim() : '';
      if (raw === '') return;
      if (input.type === 'slack#/types/timestamp') {
        const ms = new Date(raw).getTime();
        inputs[input.name] = Number.isNaN(ms) ? raw : Math.floor(ms / 1000);
      } else if (input.type === 'integer' || input.type === 'number') {
        inputs[input.name] = Number(raw);
      } else {
        inputs[input.name] = raw;
      }
    });
    return inputs;
  }

  function runStep(): void {
    const step = currentStep();
    if (!step) return;
    const status = $('#step-status');
    const form = $('#step-form');
    showErrors(form, {});
    status.textContent = '';
    const button = $<HTMLButtonElement>('#step-run');
    button.disabled = true;
    api('step-run', { user: S.me, callbackId: step.callbackId, inputs: stepFormInputs(step) }).then(
      (res) => {
        button.disabled = false;
        if (res.errors) {
          showErrors(form, res.errors);
          status.textContent = 'Workflow Builder would not start it: see the fields.';
          return;
        }
        if (res.run) {
          upsertStepRun(loaded().stepRuns, res.run);
          scheduleRender();
        }
      },
      (err: Error) => {
        button.disabled = false;
        status.textContent = `Could not run it: ${err.message}`;
      },
    );
  }

  function renderAll(): void {
    S.renderQueued = false;
    if (!S.data) return;
    document.body.dataset.pane = S.pane;
    $('#channel-pane').hidden = S.pane !== 'channel';
    $('#home-pane').hidden = S.pane !== 'home';
    $('#steps-pane').hidden = S.pane !== 'steps';
    renderUserSwitch();
    renderSidebar();
    if (S.pane === 'channel') {
      renderChannel();
      renderThread();
    } else {
      $('#thread').hidden = true;
    }
    if (S.pane === 'home') renderHome();
    if (S.pane === 'steps') renderSteps();
    renderModal();
  }

  function scheduleRender(): void {
    if (S.renderQueued) return;
    S.renderQueued = true;
    setTimeout(renderAll, 0);
  }

  /** Replaces the entry of `list` that is the `same` as `item`, or appends it; true when appended. */
  /**
   * A step run as the page last heard of it. Runs only move on (running → completed or failed):
   * the answer to "run it" can arrive after the push that says the run already ended (Capstan may
   * fail a step before the event's HTTP answer is back), and must not bring it back to running.
   */
  function upsertStepRun(list: WireStepRun[], run: WireStepRun): void {
    const known = list.find((r) => r.executionId === run.executionId);
    if (known && known.state !== 'running' && run.state === 'running') return;
    upsert(list, run, (a, b) => a.executionId === b.executionId);
  }

  function upsert<T>(list: T[], item: T, same: (a: T, b: T) => boolean): boolean {
    for (let i = 0; i < list.length; i++) {
      if (same(list[i] as T, item)) {
        list[i] = item;
        return false;
      }
    }
    list.push(item);
    return true;
  }

  function apply(event: ConsoleEvent): void {
    const d = loaded();
    switch (event.type) {
      case 'message': {
        const m = event.message;
        upsert(d.messages, m, (a, b) => a.channel === b.channel && a.ts === b.ts);
        if (!d.channels.some((c) => c.id === m.channel)) {
          d.channels.push({
            id: m.channel,
            name: m.channel === d.dm.id ? d.dm.name : m.channel.toLowerCase(),
          });
        }
        if (event.kind === 'posted' && isTop(m) && m.channel !== S.channelId) {
          S.unread[m.channel] = (S.unread[m.channel] || 0) + 1;
        }
        break;
      }
      case 'deleted':
        d.messages = d.messages.filter((m) => !(m.channel === event.channel && m.ts === event.ts));
        break;
      case 'ephemeral':
        if (event.ephemeral.user === S.me) {
          upsert(d.ephemerals, event.ephemeral, (a, b) => ephKey(a) === ephKey(b));
        }
        break;
      case 'view':
        d.views = d.views.filter((v) => v.id !== event.view.id);
        if (event.kind !== 'closed' && event.view.open !== false) d.views.push(event.view);
        break;
      case 'file':
        upsert(d.files, event.file, (a, b) => a.id === b.id);
        break;
      case 'home':
        d.home = event.home;
        break;
      case 'step':
        if (event.run.user === S.me) upsertStepRun(d.stepRuns, event.run);
        break;
    }
  }

  function setLive(live: boolean): void {
    const conn = $('#conn');
    conn.classList.toggle('live', live);
    conn.textContent = live ? 'live' : 'reconnecting…';
    document.body.dataset.live = live ? '1' : '0';
  }

  function loadState(): Promise<void> {
    const me = S.me;
    S.pending = [];
    return fetch(`/console/api/state?user=${encodeURIComponent(me)}`)
      .then((res) => res.json())
      .then((data: ConsoleState) => {
        if (me !== S.me) return;
        S.data = data;
        const pending = S.pending || [];
        S.pending = null;
        pending.forEach(apply);
        if (!S.channelId || !data.channels.some((c) => c.id === S.channelId)) {
          S.channelId = data.channels[0]?.id ?? null;
        }
        S.viewKey = undefined;
        renderAll();
        document.body.dataset.user = me;
        document.body.dataset.ready = '1';
      });
  }

  function connect(): void {
    if (S.es) S.es.close();
    document.body.dataset.ready = '0';
    const es = new EventSource(`/console/api/stream?user=${encodeURIComponent(S.me)}`);
    S.es = es;
    es.onopen = () => {
      setLive(true);
      loadState();
    };
    es.onerror = () => {
      setLive(false);
    };
    es.onmessage = (ev: MessageEvent<string>) => {
      const event: ConsoleEvent = JSON.parse(ev.data);
      if (S.pending) S.pending.push(event);
      else if (S.data) {
        apply(event);
        scheduleRender();
      }
    };
  }

  function switchUser(id: string): void {
    if (id === S.me) return;
    S.me = id;
    S.dismissed = {};
    try {
      localStorage.setItem(LS_USER, id);
    } catch {
      /* private mode */
    }
    if (S.data) {
      // What was only the last person's goes with them (the state loaded next has the new one's).
      const dm = S.data.dm.id;
      S.data.ephemerals = [];
      S.data.views = [];
      S.data.messages = S.data.messages.filter((m) => m.channel !== dm);
      S.data.channels = S.data.channels.filter((c) => c.id !== dm);
      S.data.home = null;
      S.data.stepRuns = [];
    }
    closeMenu();
    S.homeKey = null;
    S.stepFormKey = null;
    scheduleRender();
    connect();
    // Another person looking at the Home tab opens it: Slack tells the app each time.
    if (S.pane === 'home') openHome();
  }

  /** Shows Capstan's Home tab; Slack sends `app_home_opened` every time it is opened. */
  function openHome(): void {
    S.pane = 'home';
    S.homeKey = null;
    renderAll();
    api('home-open', { user: S.me }).then(
      (res) => {
        if (res.status !== 200) toast(`Capstan answered app_home_opened with HTTP ${res.status}`);
      },
      (err: Error) => {
        toast(`Could not open Home: ${err.message}`);
      },
    );
  }

  function openSteps(): void {
    S.pane = 'steps';
    renderAll();
  }

  function openChannel(id: string | null): void {
    S.pane = 'channel';
    S.channelId = id;
    S.threadTs = null;
    S.unread[String(id)] = 0;
    try {
      localStorage.setItem(LS_CHANNEL, String(id));
    } catch {
      /* private mode */
    }
    renderAll();
    $('#composer-input').focus();
  }

  /**
   * A Slack permalink (`…/archives/<channel>/p<ts without its dot>`, as chat.getPermalink makes
   * them and Capstan links threads on the Home tab) to a message this page shows: opens its channel,
   * and its thread when it is in one or starts one, as Slack's client does.
   */
  function followPermalink(href: string): boolean {
    const m = /\/archives\/([CGD][A-Z0-9]+)\/p(\d{10})(\d{6})(?:$|[?#])/.exec(href);
    if (!m) return false;
    const data = loaded();
    const channel = m[1] ?? '';
    const ts = `${m[2]}.${m[3]}`;
    const message = data.messages.find((x) => x.channel === channel && x.ts === ts);
    if (!message) return false;
    openChannel(channel);
    const thread = !isTop(message)
      ? message.thread_ts
      : data.messages.some((x) => x.channel === channel && x.thread_ts === ts && x.ts !== ts)
        ? ts
        : null;
    if (thread) openThread(thread);
    return true;
  }

  function openThread(ts: string | null): void {
    S.threadTs = ts;
    renderAll();
    $('#thread-input').focus();
  }

  function send(input: HTMLTextAreaElement, threadTs: string | null): void {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize(input);
    const body: ConsoleRoutes['command'][0] = { user: S.me, channel: S.channelId ?? '', text: text };
    if (threadTs) body.threadTs = threadTs;
    api('command', body).catch((err: Error) => {
      toast(`Could not send: ${err.message}`);
      input.value = text;
    });
  }

  function autosize(input: HTMLTextAreaElement): void {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  /** The message whose "…" menu is open. */
  let menuFor: { channel: string; ts: string } | null = null;
  function closeMenu(): void {
    $('#menu').hidden = true;
    menuFor = null;
  }

  function openMenu(button: Element, msg: HTMLElement): void {
    const menu = $('#menu');
    menuFor = { channel: msg.dataset.channel ?? '', ts: msg.dataset.ts ?? '' };
    const items = loaded().shortcuts.map(
      (s) =>
        `<button type="button" class="menu-item" role="menuitem" data-callback="${esc(s.callbackId)}">` +
        `<span>${esc(s.name)}</span><span class="menu-app">Capstan</span></button>`,
    );
    menu.innerHTML = `<div class="menu-title">Shortcuts</div>${items.join('')}`;
    menu.hidden = false;
    const r = button.getBoundingClientRect();
    const left = Math.max(8, Math.min(r.right - menu.offsetWidth, window.innerWidth - menu.offsetWidth - 8));
    const top =
      r.bottom + 4 + menu.offsetHeight > window.innerHeight ? r.top - menu.offsetHeight - 4 : r.bottom + 4;
    menu.style.left = `${left}px`;
    menu.style.top = `${top}px`;
  }

  /** What a form control holds (the renderer marks each with data-kind). */
  function controlValue(node: Element): string {
    return node instanceof HTMLInputElement ||
      node instanceof HTMLSelectElement ||
      node instanceof HTMLTextAreaElement ||
      node instanceof HTMLButtonElement
      ? node.value
      : '';
  }

  /** view.state.values as Slack sends them, from the modal's inputs. */
  function collectValues(
    view: WireView,
    root: Element,
  ): { values: Record<string, Record<string, InputState>>; missing: string[] } {
    const values: Record<string, Record<string, InputState>> = {};
    const missing: string[] = [];
    const blocks: (Block | null)[] = view.blocks;
    blocks.forEach((block, index) => {
      if (block?.type !== 'input') return;
      const blockId = typeof block.block_id === 'string' ? block.block_id : `b${index}`;
      const el = block.element || {};
      const actionId = typeof el.action_id === 'string' ? el.action_id : 'a0';
      const node = root.querySelector(`[data-block-index="${index}"] [data-kind]`);
      if (!node) return;
      const value = controlValue(node);
      const state: InputState = { type: el.type };
      let empty = false;
      const options = Array.isArray(el.options) ? el.options : [];
      switch (el.type) {
        case 'static_select':
          state.selected_option = value === '' ? null : options[Number(value)] || null;
          empty = !state.selected_option;
          break;
        case 'radio_buttons': {
          const checked = node.querySelector<HTMLInputElement>('input:checked');
          state.selected_option = checked ? options[Number(checked.value)] || null : null;
          empty = !state.selected_option;
          break;
        }
        case 'checkboxes':
          state.selected_options = Array.from(
            node.querySelectorAll<HTMLInputElement>('input:checked'),
            (i) => options[Number(i.value)],
          );
          empty = state.selected_options.length === 0;
          break;
        case 'datepicker':
          state.selected_date = value || null;
          empty = !value;
          break;
        default:
          state.value = value === '' ? null : value;
          empty = value.trim() === '';
      }
      if (empty && !block.optional) missing.push(blockId);
      values[blockId] = { [actionId]: state };
    });
    return { values: values, missing: missing };
  }

  /** Shows each input's error (block id → message), and clears the others. */
  function showErrors(modal: Element, errors: Record<string, unknown>): void {
    modal.querySelectorAll<HTMLElement>('.f-error').forEach((node) => {
      const text = errors[node.getAttribute('data-error-for') ?? ''];
      node.textContent = text ? String(text) : '';
      node.hidden = !text;
      node.parentElement?.classList.toggle('has-error', !!text);
    });
  }

  function submitView(modal: HTMLElement): void {
    const view = topView();
    if (!view || view.id !== modal.dataset.viewId) return;
    const collected = collectValues(view, modal);
    const status = $('.modal-status', modal);
    if (collected.missing.length) {
      const errs: Record<string, string> = {};
      collected.missing.forEach((id) => {
        errs[id] = 'Please complete this required field.';
      });
      showErrors(modal, errs);
      return;
    }
    showErrors(modal, {});
    const button = $<HTMLButtonElement>('[data-submit-view]', modal);
    button.disabled = true;
    status.textContent = '';
    api('view-submit', { user: S.me, viewId: view.id, values: collected.values }).then(
      (res) => {
        button.disabled = false;
        if (res.errors) showErrors(modal, res.errors);
        else if (!res.ok) status.textContent = `Capstan did not take it: ${res.error || 'unknown error'}`;
      },
      (err: Error) => {
        button.disabled = false;
        status.textContent = `Could not submit: ${err.message}`;
      },
    );
  }

  /**
   * A button in a message or on the Home tab clicked: Capstan gets the block_actions Slack would
   * send; from the Home tab its container is the view (no channel, no message).
   */
  function clickButton(el: HTMLButtonElement): void {
    if (el.disabled) return;
    const msg = el.closest<HTMLElement>('.msg');
    if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
    if (el.dataset.url) window.open(el.dataset.url, '_blank', 'noopener');
    el.disabled = true;
    el.classList.add('busy');
    const clicked = {
      user: S.me,
      actionId: el.dataset.actionId ?? '',
      value: el.dataset.value || '',
      blockId: el.dataset.blockId || '',
      text: el.dataset.text || '',
    };
    const sent = msg
      ? api('action', { ...clicked, channel: msg.dataset.channel ?? '', ts: msg.dataset.ts ?? '' })
      : api('home-action', clicked);
    sent
      .catch((err: Error) => {
        toast(`Click failed: ${err.message}`);
      })
      .then(() => {
        setTimeout(() => {
          el.disabled = false;
          el.classList.remove('busy');
        }, 800);
      });
  }

  document.addEventListener('click', (ev) => {
    const origin = ev.target;
    const target = origin instanceof Element ? origin : origin instanceof Node ? origin.parentElement : null;
    if (!target) return;
    const item = target.closest<HTMLElement>('.menu-item');
    if (item) {
      const on = menuFor;
      closeMenu();
      if (on) {
        api('shortcut', {
          user: S.me,
          channel: on.channel,
          ts: on.ts,
          callbackId: item.dataset.callback ?? '',
        }).catch((err: Error) => {
          toast(`Shortcut failed: ${err.message}`);
        });
      }
      return;
    }
    if (!target.closest('#menu')) {
      const more = target.closest('.more-btn');
      const msg = more?.closest<HTMLElement>('.msg');
      if (more && msg) {
        openMenu(more, msg);
        return;
      }
      closeMenu();
    }
    // A channel in the sidebar, or a #channel mention in a message: both carry the channel's id.
    const channel = target.closest<HTMLElement>('.channel[data-channel]');
    if (channel) {
      openChannel(channel.dataset.channel ?? null);
      return;
    }
    const link = target.closest<HTMLAnchorElement>('a[href]');
    if (link && followPermalink(link.href)) {
      ev.preventDefault();
      return;
    }
    const paneLink = target.closest<HTMLElement>('.app-link[data-pane]');
    if (paneLink) {
      if (paneLink.dataset.pane === 'home') openHome();
      else openSteps();
      return;
    }
    const thread = target.closest<HTMLElement>('[data-thread]');
    if (thread) {
      openThread(thread.dataset.thread ?? null);
      return;
    }
    if (target.closest('.thread-close')) {
      S.threadTs = null;
      renderAll();
      return;
    }
    const dismiss = target.closest<HTMLElement>('.dismiss');
    if (dismiss) {
      S.dismissed[dismiss.dataset.dismiss ?? ''] = true;
      renderAll();
      return;
    }
    const close = target.closest('[data-close-view]');
    if (close) {
      const viewId = close.closest<HTMLElement>('.modal')?.dataset.viewId ?? '';
      api('view-close', { user: S.me, viewId }).catch(() => {
        const data = loaded();
        data.views = data.views.filter((v) => v.id !== viewId);
        renderAll();
      });
      return;
    }
    const submit = target.closest('[data-submit-view]');
    if (submit) {
      const modal = submit.closest<HTMLElement>('.modal');
      if (modal) submitView(modal);
      return;
    }
    const button = target.closest<HTMLButtonElement>(
      '.msg [data-kind="button"], #home-view [data-kind="button"]',
    );
    if (button) clickButton(button);
  });

  /** The composer's and the thread's text boxes. */
  function isComposer(node: EventTarget | null): node is HTMLTextAreaElement {
    return (
      node instanceof HTMLTextAreaElement && (node.id === 'composer-input' || node.id === 'thread-input')
    );
  }

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      closeMenu();
      return;
    }
    const input = ev.target;
    if (ev.key === 'Enter' && !ev.shiftKey && isComposer(input)) {
      ev.preventDefault();
      send(input, input.id === 'thread-input' ? S.threadTs : null);
    }
  });

  document.addEventListener('input', (ev) => {
    if (isComposer(ev.target)) autosize(ev.target);
  });

  $('#composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    send($<HTMLTextAreaElement>('#composer-input'), null);
  });
  $('#thread-composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    send($<HTMLTextAreaElement>('#thread-input'), S.threadTs);
  });
  $('#step-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    runStep();
  });
  const stepSelect = $<HTMLSelectElement>('#step-select');
  stepSelect.addEventListener('change', () => {
    S.stepId = stepSelect.value;
    renderAll();
  });
  const userSwitch = $<HTMLSelectElement>('#user-switch');
  userSwitch.addEventListener('change', () => {
    switchUser(userSwitch.value);
  });

  const params = new URLSearchParams(location.search);
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(LS_USER);
  } catch {
    /* private mode */
  }
  fetch('/console/api/state')
    .then((res) => res.json())
    .then((data: ConsoleState) => {
      const ids = data.users.map((u) => u.id);
      const wanted = params.get('user') || stored;
      S.me = wanted && ids.indexOf(wanted) >= 0 ? wanted : (ids[0] ?? '');
      let channel = params.get('channel');
      if (!channel) {
        try {
          channel = localStorage.getItem(LS_CHANNEL);
        } catch {
          /* private mode */
        }
      }
      if (channel && data.channels.some((c) => c.id === channel)) S.channelId = channel;
      connect();
    });
})();
