/**
 * The conformance suite's services: Redis (as for every test) and moto's server on a free loopback
 * port, handed to the tests through `inject`.
 */
import type { TestProject } from 'vitest/node';
import setupRedis from './global-setup.js';
import { findMotoServer, startMoto } from './moto.js';
import { freePort } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const executable = findMotoServer();
  if (!executable) throw new Error('moto_server is not on this machine (pip install "moto[server]")');
  const stopRedis = await setupRedis(project);
  const moto = await startMoto(executable, await freePort());
  project.provide('motoUrl', moto.url);
  return async () => {
    await moto.stop();
    await stopRedis();
  };
}
