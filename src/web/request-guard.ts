/**
 * The checks every HTTP request passes before Bolt sees it (pure): in local mode, that it was sent to
 * this machine by name (`Host: 127.0.0.1:<port>` or `localhost:<port>`), so a page elsewhere that
 * rebinds its own name to 127.0.0.1 reaches nothing; and for Slack's endpoint, that the request's
 * timestamp is within five minutes of now in either direction. Bolt refuses only old timestamps;
 * Slack's guidance is to refuse any that differ from the local clock by more than five minutes
 * (https://api.slack.com/authentication/verifying-requests-from-slack#a_recipe_for_security).
 */

/** How far a request's `X-Slack-Request-Timestamp` may be from now, either way, in seconds. */
export const REQUEST_WINDOW_S = 300;

/** What the guard looks at. */
export interface GuardedRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** Let through, or answer with `status` and say why (in the log, never to the caller). */
export type GuardVerdict = { ok: true } | { ok: false; status: 401 | 421; reason: string };

/** What the guard checks against. */
export interface GuardOptions {
  /** Slack's endpoint (`/slack/events`): its POSTs must carry a timestamp inside the window. */
  endpoint: string;
  /** When set (local mode), the only Host headers answered. */
  allowedHosts?: readonly string[];
  nowMs: number;
}

/** The `Host` headers a loopback-only server on `port` answers. */
export function loopbackHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** Decides whether `req` goes on to Bolt. */
export function checkRequest(req: GuardedRequest, opts: GuardOptions): GuardVerdict {
  if (opts.allowedHosts) {
    const host = String(req.headers.host ?? '').toLowerCase();
    if (!opts.allowedHosts.includes(host)) {
      return {
        ok: false,
        status: 421,
        reason: `Host ${JSON.stringify(host.slice(0, 100))} is not this server`,
      };
    }
  }
  const path = (req.url ?? '').split('?')[0];
  if (path !== opts.endpoint || (req.method ?? '').toUpperCase() !== 'POST') return { ok: true };
  const header = req.headers['x-slack-request-timestamp'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,12}$/.test(value)) {
    return { ok: false, status: 401, reason: 'no X-Slack-Request-Timestamp, or not a number of seconds' };
  }
  const skew = Number(value) - Math.floor(opts.nowMs / 1000);
  if (Math.abs(skew) > REQUEST_WINDOW_S) {
    return {
      ok: false,
      status: 401,
      reason: `X-Slack-Request-Timestamp is ${Math.abs(skew)} s in the ${skew > 0 ? 'future' : 'past'} (at most ${REQUEST_WINDOW_S} s either way)`,
    };
  }
  return { ok: true };
}
