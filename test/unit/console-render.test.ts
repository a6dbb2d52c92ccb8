/**
 * The console's renderer (devkit/local/console/browser/render.ts, transpiled as the page serves it and
 * run here in a `node:vm` context): Slack mrkdwn and Block Kit to HTML in which text never becomes markup.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { consolePage, RENDER_SCRIPT } from '../../devkit/local/console/page.js';
import { RESTORE_BLOCKS, restoreModal } from '../../src/slack/blocks/restore-modal.js';

interface RenderContext {
  users?: Record<string, string>;
  channels?: Record<string, string>;
  me?: string;
  form?: boolean;
  inert?: boolean;
}

interface Renderer {
  esc(text: unknown): string;
  mrkdwn(text: string, ctx?: RenderContext): string;
  plainText(obj: unknown): string;
  blocksHtml(blocks: unknown[], ctx?: RenderContext): string;
  attachmentsHtml(attachments: unknown[], ctx?: RenderContext): string;
  messageBodyHtml(message: object, ctx?: RenderContext): string;
  imageUrl(url: unknown, slackFile?: unknown): string | null;
}

const render = runInNewContext(
  `${RENDER_SCRIPT}\n;({ esc, mrkdwn, plainText, blocksHtml, attachmentsHtml, messageBodyHtml, imageUrl })`,
  {},
) as Renderer;

const ctx: RenderContext = { users: { U0ALICE: 'alice', U0CAPSTAN: 'capstan' }, channels: { C0OPS: 'ops' } };

/** The tags an HTML string contains, by name. */
function tags(html: string): string[] {
  return [...html.matchAll(/<([a-z][a-z0-9]*)/g)].map((m) => m[1] ?? '');
}

describe('mrkdwn', () => {
  it('formats bold, italic, strike, code, pre, quotes and line breaks', () => {
    expect(render.mrkdwn('*done* in _1.2 s_ ~old~', ctx)).toBe('<b>done</b> in <i>1.2 s</i> <s>old</s>');
    expect(render.mrkdwn('run `/lb status prod`', ctx)).toBe('run <code>/lb status prod</code>');
    expect(render.mrkdwn('```a *b*\n<c>```', ctx)).toBe('<pre class="code">a *b*\n&lt;c&gt;</pre>');
    expect(render.mrkdwn('> quoted\nplain', ctx)).toBe('<blockquote>quoted</blockquote>plain');
    expect(render.mrkdwn('one\ntwo', ctx)).toBe('one<br>two');
  });

  it('leaves underscores and stars inside words alone', () => {
    expect(render.mrkdwn('shop.billing__restored_2026 and 2*3*4', ctx)).toBe(
      'shop.billing__restored_2026 and 2*3*4',
    );
  });

  it('renders mentions by name, channels, special mentions and dates', () => {
    expect(render.mrkdwn('<@U0ALICE> asked', ctx)).toBe(
      '<span class="mention" data-user="U0ALICE">@alice</span> asked',
    );
    expect(render.mrkdwn('<@U0ALICE>', { ...ctx, me: 'U0ALICE' })).toContain('class="mention self"');
    expect(render.mrkdwn('<@U0NOBODY>', ctx)).toContain('@U0NOBODY');
    expect(render.mrkdwn('in <#C0OPS>', ctx)).toBe(
      'in <span class="mention channel" data-channel="C0OPS">#ops</span>',
    );
    expect(render.mrkdwn('<!here>', ctx)).toBe('<span class="mention">@here</span>');
    const date = render.mrkdwn('<!date^1700000000^{date_num} {time_secs}|2023-11-14>', ctx);
    expect(date).toMatch(/^<span class="date">2023-11-1[45] \d{1,2}:\d\d:20 [AP]M<\/span>$/);
  });

  it('makes links only of http(s) and mailto targets', () => {
    expect(render.mrkdwn('see <https://runbooks.example.com/a?b=1&amp;c=2|the runbook>', ctx)).toBe(
      'see <a href="https://runbooks.example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the runbook</a>',
    );
    const js = render.mrkdwn('<javascript:alert(1)|click>', ctx);
    expect(js).toBe('click');
    expect(render.mrkdwn('<javascript:alert(1)>', ctx)).toBe('&lt;javascript:alert(1)&gt;');
  });

  it('turns known :emoji: into the emoji and leaves others as typed', () => {
    expect(render.mrkdwn(':white_check_mark: ok :no_such_emoji:', ctx)).toBe(
      '<span class="emoji" title=":white_check_mark:">✅</span> ok :no_such_emoji:',
    );
  });

  it('never lets text become markup', () => {
    const attacks = [
      '<img src=x onerror=alert(1)>',
      '<script>alert(1)</script>',
      '&lt;script&gt;alert(1)&lt;/script&gt;',
      '<https://x.example/"onmouseover="alert(1)|label>',
      '<https://x.example|<b onclick=alert(1)>>',
      '`<img src=x>` ```<svg onload=alert(1)>```',
      '*<img src=x>* _"quoted"_',
      '<@U0ALICE|"><img src=x>>',
      '\u0000 0\u0000 <!date^1^{date}^javascript:alert(1)|x>',
    ];
    for (const text of attacks) {
      const html = render.mrkdwn(text, ctx);
      expect(
        tags(html).filter((t) => !['b', 'i', 's', 'code', 'pre', 'span', 'a', 'br'].includes(t)),
      ).toEqual([]);
      expect(html).not.toMatch(/<[^>]*\son\w+=/i);
      expect(html).not.toMatch(/href="(?!https?:|mailto:)/);
    }
    expect(render.mrkdwn('&lt;b&gt; &amp; "q"', ctx)).toBe('&lt;b&gt; &amp; &quot;q&quot;');
  });
});

describe('Block Kit', () => {
  it('renders a section with fields, a header, context, divider and image', () => {
    const html = render.blocksHtml(
      [
        { type: 'header', text: { type: 'plain_text', text: 'Load balancer :lock:' } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*Plan*' },
          fields: [
            { type: 'mrkdwn', text: '*Action*\nlb.disable' },
            { type: 'plain_text', text: '<b>prod</b>' },
          ],
        },
        { type: 'divider' },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'job `j1`' }] },
        { type: 'image', image_url: 'javascript:alert(1)', alt_text: 'chart' },
        { type: 'image', slack_file: { id: 'F000000001' }, alt_text: 'burst balance' },
      ],
      ctx,
    );
    expect(html).toContain('<div class="blk blk-header"');
    expect(html).toContain('Load balancer <span class="emoji" title=":lock:">🔒</span>');
    expect(html).toContain('<div class="blk-field"><b>Action</b><br>lb.disable</div>');
    expect(html).toContain('<div class="blk-field">&lt;b&gt;prod&lt;/b&gt;</div>');
    expect(html).toContain('<hr>');
    expect(html).toContain('<span class="ctx-text">job <code>j1</code></span>');
    expect(html).not.toContain('javascript:');
    expect(html).toContain('<img class="blk-img" src="/console/files/F000000001" alt="burst balance"');
  });

  it('renders buttons with what a click sends, styled primary or danger', () => {
    const html = render.blocksHtml(
      [
        {
          type: 'actions',
          block_id: 'approval',
          elements: [
            {
              type: 'button',
              action_id: 'approval.approve',
              style: 'primary',
              value: 'j"1',
              text: { type: 'plain_text', text: 'Approve' },
            },
            {
              type: 'button',
              action_id: 'approval.reject',
              style: 'danger',
              value: 'j1',
              text: { type: 'plain_text', text: 'Reject' },
            },
          ],
        },
      ],
      ctx,
    );
    expect(html).toContain(
      '<button type="button" class="btn btn-primary" data-kind="button" data-action-id="approval.approve" data-block-id="approval" data-value="j&quot;1" data-text="Approve">Approve</button>',
    );
    expect(html).toContain('class="btn btn-danger"');
    expect(
      render.blocksHtml(
        [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'x' } }] }],
        { inert: true },
      ),
    ).toContain(' disabled');
  });

  it('renders the restore modal as a form: inputs, the select, radio buttons with descriptions, hints', () => {
    const view = restoreModal({
      channelId: 'C0OPS',
      messageTs: '1700000000.000100',
      author: { userId: 'U0ALICE' },
      messageText: 'cleanup <script>',
      databases: ['orders-db'],
      timeZone: 'Europe/Berlin',
    });
    const html = render.blocksHtml(view.blocks as unknown[], { ...ctx, form: true });
    expect(html).toContain(`data-block-id="${RESTORE_BLOCKS.time}"`);
    expect(html).toMatch(
      /<input class="f-input" type="text" data-kind="plain_text_input" data-action-id="restore.time" data-block-id="restore.time" value="2023-11-14 23:13:19 \+01:00">/,
    );
    expect(html).toContain('<select class="f-select" data-kind="static_select"');
    expect(html).toMatch(/<input type="radio" name="restore.mode\/restore.mode" value="0" checked>/);
    expect(html).toContain(
      '<span class="f-choice-desc">Copy the old rows beside the live table; change nothing else.</span>',
    );
    expect(html).toContain('<div class="f-error" data-error-for="restore.table" hidden></div>');
    expect(html).toContain('@alice');
    expect(html).not.toContain('<script>');
  });

  it('renders unknown blocks as a placeholder and attachments with their colour', () => {
    expect(render.blocksHtml([{ type: 'video' }], ctx)).toContain('[video block]');
    const html = render.attachmentsHtml(
      [{ color: 'danger', title: '<b>', text: '*down*', fields: [{ title: 'Env', value: 'prod' }] }],
      ctx,
    );
    expect(html).toContain('data-color="#e01e5a"');
    expect(html).toContain('<div class="att-title">&lt;b&gt;</div>');
    expect(html).toContain('<b>down</b>');
    expect(render.attachmentsHtml([{ color: '"><img src=x>' }], ctx)).toContain('data-color="#dddddd"');
  });

  it('shows a message by its blocks when it has any, else by its text', () => {
    expect(render.messageBodyHtml({ text: 'fallback', blocks: [{ type: 'divider' }] }, ctx)).not.toContain(
      'fallback',
    );
    expect(render.messageBodyHtml({ text: '*hi*' }, ctx)).toBe('<div class="msg-text"><b>hi</b></div>');
  });

  it('maps Slack-hosted file URLs to the console and refuses other schemes for images', () => {
    expect(render.imageUrl('https://files.slack.com/files-pri/T0CAPSTAN-F000000007/chart.png')).toBe(
      '/console/files/F000000007',
    );
    expect(render.imageUrl('data:image/svg+xml;base64,PHN2Zz4=')).toBeNull();
    expect(render.imageUrl('http://insecure.example/x.png')).toBeNull();
  });
});

describe('the page', () => {
  it('puts the nonce on its only script and style, and has no other inline handlers', () => {
    const html = consolePage('bm9uY2U=');
    expect(html.match(/<script nonce="bm9uY2U=">/g)).toHaveLength(1);
    expect(html.match(/<style nonce="bm9uY2U=">/g)).toHaveLength(1);
    expect(html).not.toMatch(/\son(click|load|error|submit)=/);
  });
});
