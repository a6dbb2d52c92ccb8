#!/usr/bin/env node
// `npm test`'s last part: the conformance suite on moto (`npm run test:aws`) when this machine has
// moto_server (on PATH or in the machine image's pyenv); otherwise it says plainly that it is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const found =
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, 'moto_server'))) ||
  existsSync('/root/.pyenv/shims/moto_server');
if (!found) {
  console.log(
    'SKIPPED: the AWS conformance suite (test/conformance, moto) did not run: moto_server is not on this machine (pip install "moto[server]"; CI has it).',
  );
  process.exit(0);
}
const run = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.aws.config.ts'], { stdio: 'inherit' });
process.exit(run.status ?? 1);
