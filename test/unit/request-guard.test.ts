/**
 * The checks in front of Bolt: Slack's five-minute window applied both ways
 * (https://api.slack.com/authentication/verifying-requests-from-slack), and local mode's Host check.
 */
import { describe, expect, it } from 'vitest';
import { checkRequest, loopbackHosts, REQUEST_WINDOW_S } from '../../src/web/request-guard.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const nowS = NOW / 1000;
const post = (ts: string | undefined, extra: Record<string, string> = {}) => ({
  method: 'POST',
  url: '/slack/events',
  headers: {
    host: 'capstan.example.com',
    ...(ts === undefined ? {} : { 'x-slack-request-timestamp': ts }),
    ...extra,
  },
});
const opts = { endpoint: '/slack/events', nowMs: NOW };

describe('X-Slack-Request-Timestamp', () => {
  it('accepts a timestamp up to 300 s away either way', () => {
    for (const skew of [0, -1, 1, -REQUEST_WINDOW_S, REQUEST_WINDOW_S]) {
      expect(checkRequest(post(String(nowS + skew)), opts), `skew ${skew}`).toEqual({ ok: true });
    }
  });

  it('refuses one from the future (+301 s, +10 min, +1 year) as well as the past', () => {
    for (const skew of [301, 600, 365 * 86_400, -301, -3_600]) {
      const verdict = checkRequest(post(String(nowS + skew)), opts);
      expect(verdict, `skew ${skew}`).toMatchObject({ ok: false, status: 401 });
      if (!verdict.ok) expect(verdict.reason).toContain(skew > 0 ? 'future' : 'past');
    }
  });

  it('refuses a missing or malformed timestamp', () => {
    for (const ts of [undefined, '', 'abc', '1.5e9', '-5', `${nowS} `, '9'.repeat(20)]) {
      expect(checkRequest(post(ts), opts), String(ts)).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('applies only to POSTs to Slack’s endpoint (probes carry no timestamp)', () => {
    expect(checkRequest({ method: 'GET', url: '/health', headers: {} }, opts)).toEqual({ ok: true });
    expect(checkRequest({ method: 'GET', url: '/slack/events', headers: {} }, opts)).toEqual({ ok: true });
    expect(checkRequest(post(undefined), opts)).toMatchObject({ ok: false });
    expect(checkRequest({ ...post(undefined), url: '/slack/events?x=1' }, opts)).toMatchObject({ ok: false });
  });
});

describe('Host in local mode', () => {
  const local = { ...opts, allowedHosts: loopbackHosts(3000) };
  it('answers only 127.0.0.1:<port> and localhost:<port>', () => {
    expect(checkRequest({ url: '/health', headers: { host: '127.0.0.1:3000' } }, local)).toEqual({
      ok: true,
    });
    expect(checkRequest({ url: '/health', headers: { host: 'LOCALHOST:3000' } }, local)).toEqual({
      ok: true,
    });
    for (const host of [
      'evil.example',
      'evil.example:3000',
      '127.0.0.1',
      '127.0.0.1:3001',
      'localhost',
      '',
    ]) {
      expect(checkRequest({ url: '/metrics', headers: { host } }, local), host).toMatchObject({
        ok: false,
        status: 421,
      });
    }
  });

  it('checks the Host before the timestamp, on every route', () => {
    expect(
      checkRequest({ ...post(String(nowS)), headers: { host: 'evil.example:3000' } }, local),
    ).toMatchObject({
      status: 421,
    });
  });
});
