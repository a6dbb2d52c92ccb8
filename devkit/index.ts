/**
 * The stand-ins `src/main.ts` loads by dynamic import (see `src/stand-ins.ts`): the AWS sandbox with
 * point-in-time restores, and local mode. Never part of the production build.
 */
import type { StandIns } from '../src/stand-ins.js';
import {
  type LocalWorld,
  openLocalClients as openClients,
  prepareLocalMode as prepare,
} from './local/local-mode.js';
import { createSandbox as create } from './sandbox/index.js';
import { pitrExtension } from './sandbox/pitr/index.js';

export const createSandbox: StandIns['createSandbox'] = ({ redis, prefix }) =>
  create({ redis, prefix, extensions: [pitrExtension()] });

export const prepareLocalMode: StandIns['prepareLocalMode'] = prepare;

// main.ts hands back the world prepareLocalMode made.
export const openLocalClients: StandIns['openLocalClients'] = (world, options) =>
  openClients(world as LocalWorld, options);
