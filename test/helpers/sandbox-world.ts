/**
 * The sandbox world the environment and load balancer tests run against: a blueprint `web` with a
 * launch template and a target group, and a protected `prod` environment with 3 instances (the
 * seed is `./world.js`'s, shared with the drills).
 */
import { createSandbox, type Sandbox, type World } from '../../devkit/sandbox/index.js';
import { startTestCapstan, type TestCapstan } from './capstan.js';
import { messageText } from './fake-slack.js';
import { waitFor } from './wait-for.js';
import { WEB_TG, worldSeed } from './world.js';

export { liveInstances } from './world.js';

/** The target group of the `web` blueprint, which `prod-web` is behind. */
export const TG = WEB_TG;

/** Port of the health URL the blueprint names; tests serve it on instances' (loopback) addresses. */
export const HEALTH_PORT = 18080;

export const CONFIG = `
slack: { approvalsChannel: C0APPROVALS, notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
defaultBlueprint: web
blueprints:
  web:
    launchTemplate: { name: web-lt, version: '$Latest' }
    subnets: [subnet-0aaa11111, subnet-0bbb22222]
    targetGroups: [${TG}]
    size: { min: 0, max: 4, desired: 2 }
    ttl: 8h
    healthUrl: 'http://{ip}:${HEALTH_PORT}/health'
    # prod is declared with this blueprint: new environments share its target group on purpose here.
    sharedTargetGroups: true
environments:
  prod: { blueprint: web, asgName: prod-web }
roles:
  engineers: { users: [U0ALICE, U0BOB] }
  approvers: { users: [U0CAROL] }
policy:
  environments:
    prod: { protected: true }
`;

/** Starts Capstan on the sandbox with the world seeded; `extraEnv` and `configYaml` for test-specific settings. */
export async function startOnSandbox(
  extraEnv: Record<string, string> = {},
  configYaml: string = CONFIG,
): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  const tc = await startTestCapstan({
    configYaml,
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_POLL_INTERVAL_MS: '100',
      CAPSTAN_WAIT_TIMEOUT_MS: '20000',
      ...extraEnv,
    },
  });
  const sandbox = createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix });
  await sandbox.seed(worldSeed({ environments: ['prod'] }));
  return { tc, sandbox };
}

/** The final text of the progress message of the (last) job asked for by `text`, once it has finished. */
export async function finished(
  tc: TestCapstan,
  text: string,
  outcome?: RegExp,
  timeoutMs = 20_000,
): Promise<string> {
  return waitFor(
    () => {
      const progress = tc.fake
        .messagesIn('C0OPS')
        .filter((m) => m.thread_ts && m.thread_ts !== m.ts && messageText(m).includes(`${text}*`))
        .filter(
          (m) =>
            /(done|failed|cancelled) in/.test(messageText(m)) && (!outcome || outcome.test(messageText(m))),
        )
        .at(-1);
      return progress ? messageText(progress) : undefined;
    },
    {
      timeoutMs,
      message: `job for ${text} to finish; messages so far:\n${tc.fake
        .messagesIn('C0OPS')
        .map((m) => messageText(m))
        .join('\n---\n')}`,
    },
  );
}

/** A group of the sandbox world. */
export function groupOf(world: World, name: string) {
  return world.groups[name];
}
