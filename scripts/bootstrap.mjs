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
  // Exactly the lock file's versions: reproducible installs.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

// Tools only the tests use (`node scripts/bootstrap.mjs --test`), installed with apt-get when missing and we are
// root; anything else is a warning, never a failure here (the test that needs one says itself what is missing):
// - pt-query-digest (percona-toolkit): the IO-statements test checks its ranking against performance_schema's;
// - chromium (+ an emoji font for readable screenshots): the console's browser test drives it headless with
//   playwright-core, which downloads no browser.
const onPath = (name) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, name)));
function aptInstall(tool, packages) {
  if (onPath(tool)) return;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    process.stderr.write(
      `capstan: warning: ${tool} not found; install it (apt-get install ${packages.join(' ')})\n`,
    );
    return;
  }
  process.stderr.write(`capstan: installing ${packages.join(', ')} (for the tests)…\n`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const quiet = { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 };
    execFileSync('apt-get', ['update', '-qq'], quiet);
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], quiet);
  } catch (error) {
    const detail = String(error?.stderr ?? error?.message ?? error)
      .trim()
      .split('\n')
      .slice(-2)
      .join(' ');
    process.stderr.write(`capstan: warning: could not install ${packages.join(', ')}: ${detail}\n`);
  }
}
if (process.argv.includes('--test')) {
  aptInstall('pt-query-digest', ['percona-toolkit']);
  aptInstall('chromium', ['chromium', 'fonts-noto-color-emoji']);
}
