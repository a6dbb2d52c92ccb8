/**
 * AWS Regions as the sandbox names them: the long names CloudWatch writes into alarm notifications
 * (`"Region": "US East (N. Virginia)"`, and the Subject `ALARM: "name" in US East (N. Virginia)`),
 * and the SNS endpoint host of each Region (the sandbox's SNS answers as those hosts).
 *
 * The long names are those alarm notifications carry, which keep the older "EU (…)" spelling where the
 * console now says "Europe (…)" (e.g. `"Region":"EU (Ireland)"` in notifications from eu-west-1);
 * Region codes: https://docs.aws.amazon.com/general/latest/gr/rande.html#regional-endpoints.
 */

/** Region code → the long name alarm notifications use. */
export const REGION_LONG_NAMES: Readonly<Record<string, string>> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'af-south-1': 'Africa (Cape Town)',
  'ap-east-1': 'Asia Pacific (Hong Kong)',
  'ap-east-2': 'Asia Pacific (Taipei)',
  'ap-south-1': 'Asia Pacific (Mumbai)',
  'ap-south-2': 'Asia Pacific (Hyderabad)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'ap-southeast-3': 'Asia Pacific (Jakarta)',
  'ap-southeast-4': 'Asia Pacific (Melbourne)',
  'ap-southeast-5': 'Asia Pacific (Malaysia)',
  'ap-southeast-7': 'Asia Pacific (Thailand)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-northeast-2': 'Asia Pacific (Seoul)',
  'ap-northeast-3': 'Asia Pacific (Osaka)',
  'ca-central-1': 'Canada (Central)',
  'ca-west-1': 'Canada West (Calgary)',
  'eu-central-1': 'EU (Frankfurt)',
  'eu-central-2': 'EU (Zurich)',
  'eu-west-1': 'EU (Ireland)',
  'eu-west-2': 'EU (London)',
  'eu-west-3': 'EU (Paris)',
  'eu-north-1': 'EU (Stockholm)',
  'eu-south-1': 'EU (Milan)',
  'eu-south-2': 'EU (Spain)',
  'il-central-1': 'Israel (Tel Aviv)',
  'me-south-1': 'Middle East (Bahrain)',
  'me-central-1': 'Middle East (UAE)',
  'mx-central-1': 'Mexico (Central)',
  'sa-east-1': 'South America (Sao Paulo)',
  'us-gov-east-1': 'AWS GovCloud (US-East)',
  'us-gov-west-1': 'AWS GovCloud (US-West)',
  'cn-north-1': 'China (Beijing)',
  'cn-northwest-1': 'China (Ningxia)',
};

/** The long name of a Region (the code itself for one this table does not know). */
export function regionLongName(region: string): string {
  return REGION_LONG_NAMES[region] ?? region;
}

/** The SNS endpoint host of a Region: `sns.<region>.amazonaws.com` (`.com.cn` in the China Regions). */
export function snsHost(region: string): string {
  return `sns.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/**
 * Hosts the sandbox's SNS answers as: the pattern sns-payload-validator requires of a
 * SigningCertURL's host (`sns.<3+ of [a-zA-Z0-9-]>.amazonaws.com(.cn)`).
 */
export const SNS_HOST_PATTERN = /^sns\.([a-zA-Z0-9-]{3,})\.amazonaws\.com(\.cn)?$/;

/** Every SNS host of the Regions above (the names the sandbox's TLS certificate carries). */
export function knownSnsHosts(): string[] {
  return Object.keys(REGION_LONG_NAMES).map(snsHost);
}
