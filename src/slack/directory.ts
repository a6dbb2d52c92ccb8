/**
 * Who belongs to which Slack user group, for policy decisions. Only the groups the configuration
 * names are looked up (`usergroups.users.list`), and answers are cached for a few minutes.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';

/** Looks up a user's groups among the ones the policy cares about. */
export interface GroupDirectory {
  groupsOf(userId: string): Promise<string[]>;
}

/** A directory over the Web API, caching each group's members for `ttlMs`. */
export function createGroupDirectory(opts: {
  client: WebClient;
  groupIds: readonly string[];
  logger: Logger;
  ttlMs?: number;
  now?: () => number;
}): GroupDirectory {
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { members: Set<string>; at: number; pending?: Promise<Set<string>> }>();

  const membersOf = async (groupId: string): Promise<Set<string>> => {
    const cached = cache.get(groupId);
    if (cached && now() - cached.at < ttlMs) return cached.members;
    if (cached?.pending) return cached.pending;
    const pending = opts.client.usergroups.users
      .list({ usergroup: groupId })
      .then((res) => new Set(res.users ?? []))
      .catch((err: unknown) => {
        // A group we cannot read grants nothing; say so in the log rather than fail the command.
        opts.logger.warn({ err, groupId }, 'cannot list user group members');
        return cached?.members ?? new Set<string>();
      });
    cache.set(groupId, { members: cached?.members ?? new Set(), at: cached?.at ?? 0, pending });
    const members = await pending;
    cache.set(groupId, { members, at: now() });
    return members;
  };

  return {
    async groupsOf(userId) {
      if (opts.groupIds.length === 0) return [];
      const memberships = await Promise.all(
        opts.groupIds.map(async (g) => ((await membersOf(g)).has(userId) ? g : undefined)),
      );
      return memberships.filter((g): g is string => g !== undefined);
    },
  };
}

/** Every user group id named under `roles` in the configuration. */
export function configuredGroupIds(roles: Record<string, { groups: string[] }>): string[] {
  return [...new Set(Object.values(roles).flatMap((r) => r.groups))];
}
