/**
 * RDS IAM database authentication: a token (a SigV4-presigned `connect` request, valid 15 minutes) made
 * locally from the same AWS identity and region as the RDS client, used as the MySQL password over TLS
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html).
 */
import type { RDSClient } from '@aws-sdk/client-rds';
import { Signer } from '@aws-sdk/rds-signer';

/** A token for `username` at `hostname:port`, signed with `rds`'s credentials in its region. */
export async function rdsAuthToken(
  rds: RDSClient,
  endpoint: { hostname: string; port: number; username: string },
): Promise<string> {
  const signer = new Signer({
    ...endpoint,
    region: await rds.config.region(),
    credentials: rds.config.credentials,
  });
  return signer.getAuthToken();
}
