/** Local mode refuses real AWS credentials unless told explicitly. */
import { describe, expect, it } from 'vitest';
import {
  ALLOW_AWS_VARIABLE,
  AWS_CREDENTIAL_VARIABLES,
  localAwsRefusal,
  realAwsAllowed,
  realAwsSignals,
} from '../../devkit/local/demo/aws-guard.js';

describe('realAwsSignals', () => {
  it('finds nothing in a clean environment, or in empty variables', () => {
    expect(realAwsSignals({ PATH: '/usr/bin', AWS_REGION: 'eu-west-1' })).toEqual([]);
    expect(realAwsSignals({ AWS_ACCESS_KEY_ID: '' })).toEqual([]);
    expect(realAwsSignals({ CAPSTAN_AWS: 'sandbox' })).toEqual([]);
  });

  it.each(AWS_CREDENTIAL_VARIABLES)('names %s', (name) => {
    expect(realAwsSignals({ [name]: 'x' })).toEqual([name]);
  });

  it('names CAPSTAN_AWS=aws, and every signal at once', () => {
    expect(realAwsSignals({ CAPSTAN_AWS: 'aws', AWS_PROFILE: 'prod' })).toEqual([
      'AWS_PROFILE',
      'CAPSTAN_AWS=aws',
    ]);
  });
});

describe('localAwsRefusal', () => {
  it('refuses naming the variable and the override, never the value', () => {
    const message = localAwsRefusal({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY123456' }) ?? '';
    expect(message).toContain('AWS_ACCESS_KEY_ID is set');
    expect(message).toContain(`${ALLOW_AWS_VARIABLE}=1`);
    expect(message).not.toContain('AKIAEXAMPLEKEY123456');
  });

  it('lets local mode start with the override, or with nothing set', () => {
    expect(localAwsRefusal({})).toBeUndefined();
    expect(localAwsRefusal({ AWS_ACCESS_KEY_ID: 'x', [ALLOW_AWS_VARIABLE]: '1' })).toBeUndefined();
    expect(realAwsAllowed({ [ALLOW_AWS_VARIABLE]: 'yes' })).toBe(true);
    expect(realAwsAllowed({ [ALLOW_AWS_VARIABLE]: '0' })).toBe(false);
  });
});
