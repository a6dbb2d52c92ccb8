/**
 * People's App Home tabs, as Capstan keeps track of them in Redis (the web process, which never calls
 * AWS, writes here; the `home.publish` job, which builds and publishes a tab, reads here):
 *
 *   `${prefix}:home:opened`          hash: user → when they last opened the tab, their direct-message
 *                                    channel with Capstan, and their user groups then (JSON)
 *   `${prefix}:home:notices:<user>`  list: the answers to their latest Home-tab clicks, newest first
 *   `${prefix}:home:shown:<user>`    set: the approval requests their tab has offered them to decide
 *
 * Publishing is coalesced per person (one `home.publish` running and one waiting at most), so a burst
 * of changes costs one `views.publish`: Slack allows about 100 a minute per workspace (Tier 4,
 * https://docs.slack.dev/reference/methods/views.publish). And it is limited workspace-wide, across
 * every worker ({@link HomeTabs.takePublishSlot}):
 *
 *   `${prefix}:home:published`       sorted set: the publishes of the last minute, by time
 */
import type { ApprovalStore } from '../approvals/store.js';
import type { ConfigFile } from '../config.js';
import { alertActionRefusal, routeFor } from '../domain/alerts/routing.js';
import { type AlertState, isActive } from '../domain/alerts/state.js';
import { rolesOf } from '../policy/index.js';
import type { JobData, JobName } from '../queue/contract.js';
import type { JobProducer } from '../queue/producer.js';
import type { RedisClient } from '../redis.js';

/** Someone who has opened their Home tab. */
export interface HomeOpener {
  userId: string;
  /** When they last opened it (epoch ms). */
  at: number;
  /** Their direct-message channel with Capstan (`app_home_opened` names it): where Home-tab jobs report. */
  dm: string;
  /** Their user groups when they last opened it (the tab shows what these roles may decide). */
  groupIds: string[];
}

/** The answer to one Home-tab click, shown at the top of the tab. */
export interface HomeNotice {
  text: string;
  at: number;
}

/** A tab is re-published when something of its person's changes only if they opened it this recently. */
export const REFRESH_WITHIN_MS = 30 * 24 * 60 * 60 * 1000;
/** How long a click's answer stays on the tab. */
export const NOTICE_TTL_MS = 60 * 60 * 1000;
/** How many answers the tab shows at most. */
const NOTICES_KEPT = 3;
/** Approval requests are kept 30 days after they expire; what a tab offered is kept as long. */
const SHOWN_TTL_MS = 45 * 24 * 60 * 60 * 1000;
/**
 * A re-publish that follows a change waits this long first, so the changes of one moment (a job's
 * end and the approval it closes) make one publish.
 */
export const REFRESH_DELAY_MS = 500;

/** The window {@link HomeTabs.takePublishSlot} counts publishes in. */
export const PUBLISH_WINDOW_MS = 60_000;
/**
 * How many publishes a minute, workspace-wide: a tab someone just opened (or clicked on) may use up
 * to {@link PUBLISH_LIMIT.opened}, under Slack's 100; a re-publish after a change stops at
 * {@link PUBLISH_LIMIT.changed}, so a burst of them (an alert that shows on everyone's tab) leaves
 * room for the tabs people are opening.
 */
export const PUBLISH_LIMIT = { opened: 90, changed: 60 } as const;

/** Why a tab is published: someone is looking at it now, or something it shows changed. */
export type PublishReason = keyof typeof PUBLISH_LIMIT;

/**
 * Sliding-window limit: KEYS[1] the sorted set of publishes; ARGV now, window, limit, a unique
 * member. Takes a slot and returns 0, or returns how many ms until one is free.
 */
const TAKE_SLOT = `
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)`;

/** Home tabs: who opened theirs, what to tell them there, and publishing them. */
export class HomeTabs {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly producer: Pick<JobProducer, 'enqueueCoalesced'>;

  constructor(redis: RedisClient, prefix: string, producer: Pick<JobProducer, 'enqueueCoalesced'>) {
    this.redis = redis;
    this.prefix = prefix;
    this.producer = producer;
  }

  private get openedKey(): string {
    return `${this.prefix}:home:opened`;
  }

  /** Records that `userId` opened their tab, with their direct-message channel and groups. */
  async opened(userId: string, seen: { dm: string; groupIds: string[] }, now = Date.now()): Promise<void> {
    const record = { at: now, dm: seen.dm, groupIds: seen.groupIds };
    await this.redis.hset(this.openedKey, userId, JSON.stringify(record));
  }

  /** When `userId` last opened their tab, and what Capstan learnt then. */
  async openedBy(userId: string): Promise<HomeOpener | undefined> {
    const raw = await this.redis.hget(this.openedKey, userId);
    return raw ? parseOpener(userId, raw) : undefined;
  }

  /** Everyone who opened their tab within `withinMs`. */
  async openers(withinMs = REFRESH_WITHIN_MS, now = Date.now()): Promise<HomeOpener[]> {
    const all = await this.redis.hgetall(this.openedKey);
    return Object.entries(all)
      .map(([userId, raw]) => parseOpener(userId, raw))
      .filter((o): o is HomeOpener => o !== undefined && now - o.at <= withinMs);
  }

  /** Puts the answer to a click at the top of `userId`'s tab (for an hour). */
  async notify(userId: string, text: string, now = Date.now()): Promise<void> {
    const key = `${this.prefix}:home:notices:${userId}`;
    await this.redis
      .multi()
      .lpush(key, JSON.stringify({ text, at: now }))
      .ltrim(key, 0, NOTICES_KEPT - 1)
      .pexpire(key, NOTICE_TTL_MS)
      .exec();
  }

  /** The answers still on `userId`'s tab, newest first. */
  async notices(userId: string, now = Date.now()): Promise<HomeNotice[]> {
    const raw = await this.redis.lrange(`${this.prefix}:home:notices:${userId}`, 0, NOTICES_KEPT - 1);
    return raw
      .map((r) => JSON.parse(r) as HomeNotice)
      .filter((n) => typeof n.text === 'string' && now - n.at <= NOTICE_TTL_MS);
  }

  /** Records that `userId`'s tab offered them approval requests `ids` to decide. */
  async markShown(userId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const key = `${this.prefix}:home:shown:${userId}`;
    await this.redis
      .multi()
      .sadd(key, ...ids)
      .pexpire(key, SHOWN_TTL_MS)
      .exec();
  }

  /** Whether `userId`'s tab ever offered them approval request `id` to decide. */
  async wasShown(userId: string, id: string): Promise<boolean> {
    return (await this.redis.sismember(`${this.prefix}:home:shown:${userId}`, id)) === 1;
  }

  /**
   * Builds and publishes `userId`'s tab (a `home.publish` job), after `delayMs`; `reason` says which
   * share of the workspace's publishes it may use ({@link PUBLISH_LIMIT}).
   */
  async publish(
    userId: string,
    { delayMs = 0, reason = 'opened' }: { delayMs?: number; reason?: PublishReason } = {},
  ): Promise<void> {
    await this.producer.enqueueCoalesced(
      'home.publish',
      {
        requestId: `home:${userId}`,
        userId,
        // No channel: the job posts nothing (a failure is logged and audited, not told in their DMs).
        channelId: '',
        text: `home.publish ${reason}`,
        source: 'home',
        receivedAt: Date.now(),
      },
      { key: `home:${userId}`, ...(delayMs > 0 ? { delayMs } : {}) },
    );
  }

  /**
   * Re-publishes the tabs of `userIds` that show something that changed, for those who opened theirs
   * lately (a tab nobody looks at is left until it is opened: it is built fresh then).
   */
  async refresh(userIds: Iterable<string>, now = Date.now()): Promise<void> {
    const wanted = [...new Set(userIds)].filter((u) => u && u !== 'capstan');
    if (wanted.length === 0) return;
    const raw = await this.redis.hmget(this.openedKey, ...wanted);
    await Promise.all(
      wanted.map(async (userId, i) => {
        const opener = raw[i] ? parseOpener(userId, raw[i] as string) : undefined;
        if (opener && now - opener.at <= REFRESH_WITHIN_MS)
          await this.publish(userId, { delayMs: REFRESH_DELAY_MS, reason: 'changed' });
      }),
    );
  }

  /**
   * Takes one of the workspace's publishes of the last minute for a tab published for `reason`:
   * 0 when taken, else how many ms until one is free (nothing is taken then).
   */
  async takePublishSlot(reason: PublishReason, now = Date.now()): Promise<number> {
    const member = `${now}:${Math.random().toString(36).slice(2)}`;
    const wait = await this.redis.eval(
      TAKE_SLOT,
      1,
      `${this.prefix}:home:published`,
      String(now),
      String(PUBLISH_WINDOW_MS),
      String(PUBLISH_LIMIT[reason]),
      member,
    );
    return Number(wait);
  }

  /**
   * Records what the tabs show of alert `id` (`shown`: its signature); true when that differs from
   * what was recorded before, i.e. the tabs that show it are out of date.
   */
  async alertShownChanged(id: string, shown: string): Promise<boolean> {
    const before = await this.redis.set(`${this.prefix}:home:alert:${id}`, shown, 'PX', SHOWN_TTL_MS, 'GET');
    return before !== shown;
  }

  /**
   * The people whose tab offers a request for `role` to decide: those who opened their tab lately
   * and hold `role` (by the groups they were in then), the requester left out.
   */
  async deciders(file: ConfigFile, role: string, requester: string, now = Date.now()): Promise<string[]> {
    const openers = await this.openers(REFRESH_WITHIN_MS, now);
    return openers.filter((o) => o.userId !== requester && rolesOf(file, o).has(role)).map((o) => o.userId);
  }
}

/**
 * Re-publishes the tabs an approval request shows on: its requester's (their job's line) and those
 * of everyone who may decide it (their "Waiting for me").
 */
export async function refreshForApproval(
  homes: HomeTabs,
  file: ConfigFile,
  approval: { role: string; requester: string },
  also: readonly string[] = [],
): Promise<void> {
  const deciders = await homes.deciders(file, approval.role, approval.requester);
  await homes.refresh([approval.requester, ...deciders, ...also]);
}

/**
 * Re-publishes the tabs alert `state` shows on (everyone who opened theirs lately and may act on it
 * by its route), when what a tab shows of it changed: it opened or resolved, its severity or
 * summary, who acknowledged or snoozed it. Not for a new value or time seen (every check run brings
 * those): the tab shows them as of when it was built.
 */
export async function refreshForAlert(homes: HomeTabs, file: ConfigFile, state: AlertState): Promise<void> {
  const shown = JSON.stringify([
    isActive(state),
    state.phase,
    state.severity,
    state.summary,
    state.acknowledged?.by ?? '',
    state.snoozed?.until ?? 0,
    state.message?.ts ?? '',
  ]);
  if (!(await homes.alertShownChanged(state.id, shown))) return;
  const route = routeFor(file, state.key);
  const openers = await homes.openers();
  await homes.refresh(
    openers
      .filter(
        (o) => alertActionRefusal(file, { userId: o.userId, groupIds: o.groupIds }, route) === undefined,
      )
      .map((o) => o.userId),
  );
}

/**
 * After a job has ended: re-publishes its requester's tab (the job's line), and for an approval
 * request that was posted or closed by its timer, the tabs of those who may decide it.
 */
export async function refreshAfterJob(
  homes: HomeTabs,
  file: ConfigFile,
  approvals: Pick<ApprovalStore, 'get'>,
  event: { name: JobName; data: JobData },
): Promise<void> {
  // Capstan's own delivery jobs change nothing a tab shows.
  if (event.name === 'home.publish' || event.name === 'step.complete') return;
  const requester = event.data.request.userId;
  if (event.name === 'approval.request' && event.data.ask) {
    await refreshForApproval(homes, file, { role: event.data.ask.role, requester });
    return;
  }
  if (event.name === 'approval.expire' && event.data.approvalId) {
    const record = await approvals.get(event.data.approvalId);
    if (record) await refreshForApproval(homes, file, { role: record.role, requester });
    return;
  }
  await homes.refresh([requester]);
}

function parseOpener(userId: string, raw: string): HomeOpener | undefined {
  try {
    const parsed = JSON.parse(raw) as Partial<HomeOpener>;
    if (typeof parsed.at !== 'number') return undefined;
    return {
      userId,
      at: parsed.at,
      dm: typeof parsed.dm === 'string' ? parsed.dm : '',
      groupIds: Array.isArray(parsed.groupIds) ? parsed.groupIds.filter((g) => typeof g === 'string') : [],
    };
  } catch {
    return undefined;
  }
}
