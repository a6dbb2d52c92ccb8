/**
 * Drill 9 at CI size: a ping and an environment create over TLS as the ACL user, then another CA and
 * a wrong password refused with a reason that names the setting (`npm run drill -- --only tls`: five
 * jobs).
 */
import { describe, expect, it } from 'vitest';
import { redisTlsDrill } from '../../bench/drills/redis-tls.js';

describe('drill: Redis over TLS', () => {
  it('runs jobs over TLS as the ACL user, and refuses another CA and a wrong password, saying why', async () => {
    const result = await redisTlsDrill({ count: 2, port: 22_200 });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(4);
  }, 90_000);
});
