/**
 * The production build (`npm run build:prod`, what the Dockerfile ships) holds the product alone:
 * no file of devkit/ (the AWS sandbox, local mode, the Slack stand-in, the console) is compiled in.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('production build', () => {
  it('compiles src/, handlers/ and jobs/ and not one devkit/ file', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.prod.json', '--listFilesOnly'],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const ours = stdout
      .split('\n')
      .map((f) => f.trim())
      .filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'))
      .map((f) => f.slice(ROOT.length));
    expect(ours).toContain('src/main.ts');
    expect(ours).toContain('jobs/rds-restore.ts');
    expect(ours).toContain('handlers/index.ts');
    expect(ours.filter((f) => !/^(src|handlers|jobs)\//.test(f))).toEqual([]);
  }, 60_000);
});
