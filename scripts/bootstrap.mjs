// Installs the project's npm dependencies when they are missing, so `npm start` and `npm test`
// work on a fresh checkout. It uses nothing but Node itself.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const lock = 'package-lock.json';
const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  process.stderr.write('capstan: installing npm dependencies…\n');
  // `npm install` with the lock file, not `npm ci`: the npm here leaves other platforms' optional
  // packages out of the lock file, which `npm ci` then refuses as out of sync.
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
