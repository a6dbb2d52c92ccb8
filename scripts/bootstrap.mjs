// Installs the project's npm dependencies when they are missing, so `npm start` and `npm test`
// work on a fresh checkout. It uses nothing but Node itself.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const lock = 'package-lock.json';
const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  process.stderr.write('capstan: installing npm dependencies…\n');
  // `npm install` with the lock file, not `npm ci`: the npm here leaves other platforms' optional
  // packages out of the lock file, which `npm ci` then refuses as out of sync.
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

// pt-query-digest (Debian's percona-toolkit): the IO-statements integration test checks its ranking of the slow
// query log against performance_schema's. Installed with apt-get when missing and we are root; anything else is a
// warning, never a failure here (that test says itself what is missing).
const onPath = (name) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, name)));
if (!onPath('pt-query-digest')) {
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    process.stderr.write('capstan: installing percona-toolkit (pt-query-digest)…\n');
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const quiet = { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 };
      execFileSync('apt-get', ['update', '-qq'], quiet);
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'percona-toolkit'], quiet);
    } catch (error) {
      const detail = String(error?.stderr ?? error?.message ?? error)
        .trim()
        .split('\n')
        .slice(-2)
        .join(' ');
      process.stderr.write(`capstan: warning: could not install percona-toolkit: ${detail}\n`);
    }
  } else {
    process.stderr.write(
      'capstan: warning: pt-query-digest not found; install percona-toolkit (apt-get install percona-toolkit)\n',
    );
  }
}
