/**
 * Alert routing (pure): which channel an alert goes to, at what severity, whom it pages, and who
 * may acknowledge or snooze it — from `alerts.routes` (first match wins), then `alerts.default`,
 * then `slack.notificationsChannel`.
 */
import { type AlertSource, type ConfigFile, EVERYONE } from '../../config.js';
import { type Actor, holdersOf, rolesOf } from '../../policy/index.js';
import type { AlertKey, Severity } from './rules.js';

/** Where an alert goes and who may act on it. */
export interface AlertRoute {
  /** Undefined when nothing names a channel: the alert cannot be posted. */
  channel?: string;
  /** Reported at this severity whatever the check found. */
  severity?: Severity;
  /** User group mentioned on critical alerts. */
  oncall?: string;
  /** Roles that may acknowledge and snooze; undefined: anyone holding a Capstan role. */
  roles?: string[];
  /** The setting that decided, e.g. `alerts.routes.0`. */
  rule: string;
}

/** The environment or database an alert is about, from its resource (`env:prod`, `db:orders-db`). */
export function subjectOf(key: AlertKey): { environment?: string; database?: string } {
  const [kind, ...rest] = key.resource.split(':');
  const name = rest.join(':');
  if (kind === 'env') return { environment: name };
  if (kind === 'db') return { database: name };
  return {};
}

/** What else an alert is matched on besides its key. */
export interface RouteContext {
  /** Where its evidence came from. */
  source: AlertSource;
  /** The CloudWatch alarm's name, for an alarm. */
  alarmName?: string;
  /** The environment or database a signal names when its resource does not (an Auto Scaling group's environment). */
  environment?: string;
  database?: string;
}

/** True when `name` matches `pattern`, where `*` stands for any run of characters (and nothing else is special). */
export function globMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 's').test(name);
}

/** The route for an alert. */
export function routeFor(
  file: ConfigFile,
  key: AlertKey,
  context: RouteContext = { source: 'scheduled' },
): AlertRoute {
  const { alerts } = file;
  const own = subjectOf(key);
  const subject = {
    environment: own.environment ?? context.environment,
    database: own.database ?? context.database,
  };
  const index = alerts.routes.findIndex(({ match }) => {
    if (match.check && !match.check.includes(key.check)) return false;
    if (match.source && !match.source.includes(context.source)) return false;
    if (match.alarm && !(context.alarmName !== undefined && globMatches(match.alarm, context.alarmName)))
      return false;
    if (match.environment && match.environment !== subject.environment) return false;
    if (match.database && match.database !== subject.database) return false;
    return true;
  });
  const route = index >= 0 ? alerts.routes[index] : undefined;
  const fallback = alerts.default;
  const channel = route?.channel ?? fallback.channel ?? file.slack.notificationsChannel;
  const severity = route?.severity ?? fallback.severity;
  const oncall = route?.oncall ?? fallback.oncall;
  const roles = route?.roles ?? fallback.roles;
  return {
    ...(channel ? { channel } : {}),
    ...(severity ? { severity } : {}),
    ...(oncall ? { oncall } : {}),
    ...(roles ? { roles } : {}),
    rule: route ? `alerts.routes.${index}` : 'alerts.default',
  };
}

/**
 * Why `actor` may not acknowledge or snooze an alert on `route` (undefined when they may): members
 * of the route's roles and admins may; without roles configured, anyone holding a Capstan role.
 */
export function alertActionRefusal(file: ConfigFile, actor: Actor, route: AlertRoute): string | undefined {
  const held = rolesOf(file, actor);
  if (held.has(file.policy.adminRole)) return undefined;
  if (route.roles === undefined) {
    return held.size > 0 ? undefined : 'alerts are handled by people who hold a Capstan role';
  }
  if (route.roles.includes(EVERYONE) || route.roles.some((r) => held.has(r))) return undefined;
  const helpers = route.roles.flatMap((r) => holdersOf(file, r));
  return `only the role(s) ${route.roles.join(', ')} may act on this alert (${route.rule})${
    helpers.length > 0 ? `; who can: ${helpers.join(', ')}` : ''
  }`;
}
