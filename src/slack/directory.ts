/**
 * Who belongs to which Slack user group, for policy decisions. Only the groups the configuration
 * names are looked up (`usergroups.users.list`). A membership is never more than a minute old while
 * Slack answers, and a group Slack has not answered for longer than the configured maximum gives
 * no one its roles (fail closed) until it answers again.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';

/** A group whose members cannot be vouched for: Slack has not answered for too long. */
export interface UnavailableGroup {
  groupId: string;
  /** When the last successful read was (undefined: never read). */
  lastReadAt?: number;
  /** Since when reading it has failed. */
  failingSince: number;
}

/** Looks up a user's groups among the ones the policy cares about. */
export interface GroupDirectory {
  groupsOf(userId: string): Promise<string[]>;
  /** The groups that count for no one right now, because Slack has not answered for too long. */
  unavailable(): UnavailableGroup[];
  /** Loads every group's members now (at start-up), so no command waits for Slack to answer. */
  warm(): Promise<void>;
}

/** Options for {@link createGroupDirectory}; times in milliseconds. */
export interface GroupDirectoryOptions {
  client: WebClient;
  groupIds: readonly string[];
  logger: Logger;
  /** A list older than this is refreshed in the background while it still answers (default 30 s). */
  refreshMs?: number;
  /** A list older than this is not used while Slack answers: the command waits for a fresh one (default 60 s). */
  maxStaleMs?: number;
  /** How long a command waits for Slack before it falls back to what is kept (default 1.5 s, inside the 3 s ack). */
  waitMs?: number;
  /** Slack failing for longer than this drops the group's roles (default 10 min). */
  failClosedMs?: number;
  now?: () => number;
}

interface Kept {
  members: Set<string>;
  at: number;
}

/**
 * A directory over the Web API. Each group's list answers at once while younger than `refreshMs`,
 * and is refreshed in the background until `maxStaleMs`; an older list makes the command wait (at
 * most `waitMs`) for Slack. When Slack does not answer, the kept list still answers until it is
 * `failClosedMs` old; after that the group gives no one anything until Slack answers again.
 */
export function createGroupDirectory(opts: GroupDirectoryOptions): GroupDirectory {
  const refreshMs = opts.refreshMs ?? 30_000;
  const maxStaleMs = opts.maxStaleMs ?? 60_000;
  const waitMs = opts.waitMs ?? 1_500;
  const failClosedMs = opts.failClosedMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  const kept = new Map<string, Kept>();
  const failingSince = new Map<string, number>();
  const pending = new Map<string, Promise<void>>();

  const load = (groupId: string): Promise<void> => {
    const inFlight = pending.get(groupId);
    if (inFlight) return inFlight;
    const fetching = opts.client.usergroups.users
      .list({ usergroup: groupId })
      .then((res) => {
        kept.set(groupId, { members: new Set(res.users ?? []), at: now() });
        failingSince.delete(groupId);
      })
      .catch((err: unknown) => {
        if (!failingSince.has(groupId)) failingSince.set(groupId, now());
        opts.logger.warn({ err, groupId }, 'cannot list user group members');
      })
      .finally(() => pending.delete(groupId));
    pending.set(groupId, fetching);
    return fetching;
  };

  /** Waits for `groupId` to load, at most `waitMs`. */
  const loadWithin = async (groupId: string): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      load(groupId),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
  };

  const membersOf = async (groupId: string): Promise<ReadonlySet<string>> => {
    const before = kept.get(groupId);
    const age = before ? now() - before.at : Number.POSITIVE_INFINITY;
    if (age >= maxStaleMs) await loadWithin(groupId);
    else if (age >= refreshMs) void load(groupId);
    const list = kept.get(groupId);
    if (!list) return new Set();
    const listAge = now() - list.at;
    if (listAge < maxStaleMs) return list.members;
    if (listAge < failClosedMs) {
      opts.logger.warn({ groupId, ageMs: listAge }, 'user group members not refreshed: using the kept list');
      return list.members;
    }
    opts.logger.error(
      { groupId, ageMs: listAge },
      'user group members not refreshed for too long: its roles are dropped until Slack answers',
    );
    return new Set();
  };

  return {
    async groupsOf(userId) {
      if (opts.groupIds.length === 0) return [];
      const memberships = await Promise.all(
        opts.groupIds.map(async (g) => ((await membersOf(g)).has(userId) ? g : undefined)),
      );
      return memberships.filter((g): g is string => g !== undefined);
    },
    unavailable() {
      const t = now();
      return opts.groupIds.flatMap((groupId): UnavailableGroup[] => {
        const since = failingSince.get(groupId);
        if (since === undefined) return [];
        const lastReadAt = kept.get(groupId)?.at;
        if (lastReadAt !== undefined && t - lastReadAt < failClosedMs) return [];
        return [{ groupId, failingSince: since, ...(lastReadAt !== undefined ? { lastReadAt } : {}) }];
      });
    },
    async warm() {
      await Promise.all(opts.groupIds.map(load));
    },
  };
}

/** Every user group id named under `roles` in the configuration. */
export function configuredGroupIds(roles: Record<string, { groups: string[] }>): string[] {
  return [...new Set(Object.values(roles).flatMap((r) => r.groups))];
}
