/**
 * The stand-ins `src/main.ts` loads by dynamic import (see `src/stand-ins.ts`): the AWS sandbox with
 * point-in-time restores, its SNS (with CloudWatch alarms publishing to it), and local mode. Never
 * part of the production build.
 */
import type { StandIns } from '../src/stand-ins.js';
import { killAfterCreateHook } from './drill/kill-after-create.js';
import {
  type LocalWorld,
  openLocalClients as openClients,
  prepareLocalMode as prepare,
} from './local/local-mode.js';
import { createSandbox as create } from './sandbox/index.js';
import { ATTACH_USAGE, attachDb, readAttachArgs } from './sandbox/pitr/attach.js';
import { pitrExtension } from './sandbox/pitr/index.js';
import { openSnsStandIn } from './sandbox/sns.js';

export const createSandbox: StandIns['createSandbox'] = ({ redis, prefix }) =>
  create({ redis, prefix, extensions: [pitrExtension()] });

export const snsStandIn: StandIns['snsStandIn'] = ({ redis, prefix, logger, evaluateAlarms }) =>
  openSnsStandIn({
    redis,
    prefix,
    ...(logger ? { logger } : {}),
    ...(evaluateAlarms === false ? { evaluate: false } : {}),
  });

export const prepareLocalMode: StandIns['prepareLocalMode'] = prepare;

export const createdHook: StandIns['createdHook'] = killAfterCreateHook;

// main.ts hands back the world prepareLocalMode made.
export const openLocalClients: StandIns['openLocalClients'] = (world, options) =>
  openClients(world as LocalWorld, options);

export const sandboxCommand: StandIns['sandboxCommand'] = async (argv, { redis, prefix, env }) => {
  const [sub, ...rest] = argv;
  if (sub !== 'attach-db') return { output: `${ATTACH_USAGE}\n`, exitCode: 2 };
  const options = readAttachArgs(rest);
  if ('error' in options)
    return { output: `capstan sandbox attach-db: ${options.error}\n${ATTACH_USAGE}\n`, exitCode: 2 };
  try {
    const said = await attachDb(create({ redis, prefix, extensions: [pitrExtension()] }), options, env);
    return { output: `${said.map((line) => `- ${line}`).join('\n')}\n`, exitCode: 0 };
  } catch (error) {
    return { output: `capstan sandbox attach-db: ${(error as Error).message}\n`, exitCode: 1 };
  }
};
