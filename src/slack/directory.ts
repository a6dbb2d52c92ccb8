/**
 * Who belongs to which Slack user group, for policy decisions. Only the groups the configuration
 * names are looked up (`usergroups.users.list`), and answers are cached for a few minutes.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';

/** Looks up a user's groups among the ones the policy cares about. */
export interface GroupDirectory {
  groupsOf(userId: string): Promise<string[]>;
  /** Loads every group's members now (at start-up), so no command waits for Slack to answer. */
  warm(): Promise<void>;
}

/**
 * A directory over the Web API. Each group's members are kept for `ttlMs`; after that the kept list
 * still answers at once while a fresh one is fetched in the background, so only a group never
 * loaded before (warm() failed, or not called) makes a command wait for `usergroups.users.list`.
 */
export function createGroupDirectory(opts: {
  client: WebClient;
  groupIds: readonly string[];
  logger: Logger;
  ttlMs?: number;
  now?: () => number;
}): GroupDirectory {
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { members: Set<string>; at: number }>();
  const pending = new Map<string, Promise<Set<string>>>();

  const load = (groupId: string): Promise<Set<string>> => {
    const inFlight = pending.get(groupId);
    if (inFlight) return inFlight;
    const fetching = opts.client.usergroups.users
      .list({ usergroup: groupId })
      .then((res) => {
        const members = new Set(res.users ?? []);
        cache.set(groupId, { members, at: now() });
        return members;
      })
      .catch((err: unknown) => {
        // A group we cannot read grants nothing new; say so in the log rather than fail the command.
        opts.logger.warn({ err, groupId }, 'cannot list user group members');
        return cache.get(groupId)?.members ?? new Set<string>();
      })
      .finally(() => pending.delete(groupId));
    pending.set(groupId, fetching);
    return fetching;
  };

  const membersOf = async (groupId: string): Promise<Set<string>> => {
    const cached = cache.get(groupId);
    if (!cached) return load(groupId);
    if (now() - cached.at >= ttlMs) void load(groupId);
    return cached.members;
  };

  return {
    async groupsOf(userId) {
      if (opts.groupIds.length === 0) return [];
      const memberships = await Promise.all(
        opts.groupIds.map(async (g) => ((await membersOf(g)).has(userId) ? g : undefined)),
      );
      return memberships.filter((g): g is string => g !== undefined);
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
