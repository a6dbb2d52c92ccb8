/** EC2, thinly: instances and launch templates. */
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  type EC2Client,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';

/** An EC2 instance, as Capstan sees it. */
export interface Ec2Instance {
  id: string;
  state: string;
  privateIp?: string;
  zone?: string;
  launchedAt?: Date;
  tags: Record<string, string>;
}

/** A launch template. */
export interface LaunchTemplate {
  id: string;
  name: string;
  tags: Record<string, string>;
  latestVersion?: number;
}

/** Instances carrying tag `key` = `value` (terminated ones left out). */
export async function findInstancesByTag(
  client: EC2Client,
  key: string,
  value: string,
): Promise<Ec2Instance[]> {
  const found: Ec2Instance[] = [];
  const filters = [
    { Name: `tag:${key}`, Values: [value] },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] },
  ];
  for await (const page of paginateDescribeInstances({ client, pageSize: 100 }, { Filters: filters })) {
    for (const r of page.Reservations ?? []) {
      for (const i of r.Instances ?? []) {
        found.push({
          id: i.InstanceId ?? '',
          state: i.State?.Name ?? 'unknown',
          ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
          ...(i.Placement?.AvailabilityZone ? { zone: i.Placement.AvailabilityZone } : {}),
          ...(i.LaunchTime ? { launchedAt: i.LaunchTime } : {}),
          tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        });
      }
    }
  }
  return found;
}

/** Private addresses of instances, by id (for health URLs). */
export async function privateAddresses(client: EC2Client, ids: string[]): Promise<Map<string, string>> {
  const addresses = new Map<string, string>();
  if (ids.length === 0) return addresses;
  const out = await client.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  for (const r of out.Reservations ?? []) {
    for (const i of r.Instances ?? [])
      if (i.InstanceId && i.PrivateIpAddress) addresses.set(i.InstanceId, i.PrivateIpAddress);
  }
  return addresses;
}

/** Launch templates carrying tag `key` = `value`. */
export async function findLaunchTemplatesByTag(
  client: EC2Client,
  key: string,
  value: string,
): Promise<LaunchTemplate[]> {
  const out = await client.send(
    new DescribeLaunchTemplatesCommand({ Filters: [{ Name: `tag:${key}`, Values: [value] }] }),
  );
  return (out.LaunchTemplates ?? []).map((lt) => ({
    id: lt.LaunchTemplateId ?? '',
    name: lt.LaunchTemplateName ?? '',
    tags: Object.fromEntries((lt.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    ...(lt.LatestVersionNumber !== undefined ? { latestVersion: lt.LatestVersionNumber } : {}),
  }));
}

/** What a launch template made from an AMI blueprint holds. */
export interface LaunchTemplateSpec {
  name: string;
  imageId: string;
  instanceType: string;
  /** On the template, and on the instances and volumes launched from it. */
  tags: Record<string, string>;
  securityGroupIds?: string[];
  /** An instance profile name, or its ARN. */
  instanceProfile?: string;
  /** User data as the instance sees it (base64-encoded here). */
  userData?: string;
  keyName?: string;
  /** IMDSv2 required (session tokens), or IMDSv1 allowed too. */
  imds: 'v2-required' | 'optional';
}

/** Creates a launch template from an AMI blueprint, tagged. Returns its id. */
export async function createLaunchTemplate(client: EC2Client, input: LaunchTemplateSpec): Promise<string> {
  const tags = Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value }));
  const profile = input.instanceProfile;
  const out = await client.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: input.name,
      LaunchTemplateData: {
        ImageId: input.imageId,
        InstanceType: input.instanceType as never,
        ...(input.securityGroupIds?.length ? { SecurityGroupIds: input.securityGroupIds } : {}),
        ...(profile
          ? { IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile } }
          : {}),
        // Launch templates take user data base64-encoded
        // (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RequestLaunchTemplateData.html).
        ...(input.userData ? { UserData: Buffer.from(input.userData, 'utf8').toString('base64') } : {}),
        ...(input.keyName ? { KeyName: input.keyName } : {}),
        MetadataOptions: {
          HttpTokens: input.imds === 'v2-required' ? 'required' : 'optional',
          HttpEndpoint: 'enabled',
        },
        TagSpecifications: [
          { ResourceType: 'instance', Tags: tags },
          { ResourceType: 'volume', Tags: tags },
        ],
      },
      TagSpecifications: [{ ResourceType: 'launch-template', Tags: tags }],
    }),
  );
  const id = out.LaunchTemplate?.LaunchTemplateId;
  if (!id) throw new Error('CreateLaunchTemplate returned no id');
  return id;
}

/** Adds a version to an existing launch template with overrides; returns the version number. */
export async function createLaunchTemplateVersion(
  client: EC2Client,
  input: {
    id?: string;
    name?: string;
    sourceVersion: string;
    imageId?: string;
    instanceType?: string;
    description: string;
  },
): Promise<string> {
  const out = await client.send(
    new CreateLaunchTemplateVersionCommand({
      ...(input.id ? { LaunchTemplateId: input.id } : { LaunchTemplateName: input.name }),
      SourceVersion: input.sourceVersion,
      VersionDescription: input.description.slice(0, 255),
      LaunchTemplateData: {
        ...(input.imageId ? { ImageId: input.imageId } : {}),
        ...(input.instanceType ? { InstanceType: input.instanceType as never } : {}),
      },
    }),
  );
  const version = out.LaunchTemplateVersion?.VersionNumber;
  if (version === undefined) throw new Error('CreateLaunchTemplateVersion returned no version');
  return String(version);
}

/** Deletes a launch template. */
export async function deleteLaunchTemplate(client: EC2Client, id: string): Promise<void> {
  await client.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }));
}
