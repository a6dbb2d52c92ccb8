import { describe, expect, it } from 'vitest';
import { describeForUser, redactSecrets, UserError } from '../../src/errors.js';

describe('redactSecrets', () => {
  it('masks Slack tokens, AWS key ids, URL passwords and secret=value pairs', () => {
    const text =
      'token xoxb-1234-5678-abcdef and xapp-1-A1-99 key AKIAABCDEFGHIJKLMNOP ' +
      'url mysql://admin:hunter2@db:3306/x password=swordfish secret: s3cr3t';
    const masked = redactSecrets(text);
    for (const secret of [
      '1234-5678-abcdef',
      'A1-99',
      'ABCDEFGHIJKLMNOP',
      'hunter2',
      'swordfish',
      's3cr3t',
    ]) {
      expect(masked).not.toContain(secret);
    }
    expect(masked).toContain('xoxb-***');
    expect(masked).toContain('mysql://admin:***@db:3306/x');
  });
});

describe('describeForUser', () => {
  it('shows a UserError as is and summarises anything else without secrets', () => {
    expect(describeForUser(new UserError('No environment named foo.'))).toBe('No environment named foo.');
    const text = describeForUser(new Error('connect failed for redis://:pa55word@10.0.0.1:6379\nstack…'));
    expect(text).toBe('internal error (capstan_internal): connect failed for redis://:***@10.0.0.1:6379');
  });
});
