/** Elastic Load Balancing v2, thinly: target health per instance. */
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';

/** Health of each registered target of a target group, by instance id (initial, healthy, unhealthy, draining, unused …). */
export async function targetHealth(
  client: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
): Promise<Map<string, string>> {
  const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  const health = new Map<string, string>();
  for (const d of out.TargetHealthDescriptions ?? []) {
    if (d.Target?.Id) health.set(d.Target.Id, d.TargetHealth?.State ?? 'unknown');
  }
  return health;
}
