/**
 * The conformance suite's world for stack environments (CloudFormation blueprints), made in moto
 * through the AWS SDK: a VPC with two subnets and a target group for the stacks' groups, the
 * blueprint's template in versions 1.0.0, 1.1.0 and 1.2.0 (a directory on disk laid out as
 * `templates/<version>/stack.yaml`, and the same files in an S3 bucket), and the tags and stack
 * name Capstan gives an environment's stack.
 *
 * The template is an EC2 launch template plus an Auto Scaling group that uses it (by Ref, version by
 * Fn::GetAtt LatestVersionNumber) in the given subnets behind the given target group, with outputs
 * made by Ref, Fn::GetAtt, Fn::Sub and Fn::Join, and a parameter EnvironmentVersion. It is written
 * in YAML with short-form tags (!Ref, !GetAtt, !Sub, !Join); `templateJson` gives the same template
 * in JSON.
 *
 * Written around two limits of moto's template parser (see cloudformation-moto.test.ts):
 * - MOTO GAP yaml-short-form-on-mapping: a short-form tag whose value is a mapping (`!Base64` over
 *   `Fn::Sub: …`, a form AWS documents as valid) reaches moto as a list and CreateStack fails with
 *   HTTP 500, leaving the stack stuck in CREATE_IN_PROGRESS. The template uses `Fn::Base64: !Sub …`.
 * - MOTO GAP list-parameter-echo: moto echoes a CommaDelimitedList parameter in DescribeStacks as a
 *   Python list ("['subnet-a', 'subnet-b']"); AWS echoes the value as given ("subnet-a,subnet-b").
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, type Parameter, type Stack, type Tag } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseDocument, type YAMLSeq } from 'yaml';
import {
  createTargetGroup,
  createVpcWithSubnets,
  type MotoClients,
  motoClients,
  motoConfig,
} from './world.js';

/** The blueprint's template versions, oldest first. */
export const STACK_VERSIONS = ['1.0.0', '1.1.0', '1.2.0'] as const;
export type StackVersion = (typeof STACK_VERSIONS)[number];

/** What differs between the versions, visibly in AWS (instance type, group size, user data, outputs). */
export const VERSION_TRAITS: Record<StackVersion, { instanceType: string; maxSize: number; banner: string }> =
  {
    '1.0.0': { instanceType: 't3.small', maxSize: 3, banner: 'web' },
    '1.1.0': { instanceType: 't3.medium', maxSize: 3, banner: 'web' },
    '1.2.0': { instanceType: 't3.medium', maxSize: 4, banner: 'web+metrics' },
  };

/** The logical ids in the template. */
export const LOGICAL = { launchTemplate: 'LaunchTemplate', group: 'Group' } as const;

/** The template of `version`, in YAML with short-form intrinsic functions. */
export function templateYaml(version: StackVersion): string {
  const t = VERSION_TRAITS[version];
  // 1.2.0 adds an output; the others differ in properties only.
  const extraOutput =
    version === '1.2.0'
      ? `  MaxSize:
    Description: The group's maximum size
    Value: '${t.maxSize}'
`
      : '';
  return `AWSTemplateFormatVersion: '2010-09-09'
Description: Capstan web environment ${version}
Parameters:
  EnvironmentVersion:
    Type: String
    Description: The application version the environment runs
  Subnets:
    Type: CommaDelimitedList
    Description: Subnets for the group's instances
  TargetGroupArn:
    Type: String
    Description: The target group the group's instances register in
Resources:
  ${LOGICAL.launchTemplate}:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: ami-12c6146b
        InstanceType: ${t.instanceType}
        UserData:
          Fn::Base64: !Sub "#!/bin/sh\\necho ${t.banner} \${EnvironmentVersion}\\n"
        TagSpecifications:
          - ResourceType: instance
            Tags:
              - Key: app-version
                Value: !Ref EnvironmentVersion
  ${LOGICAL.group}:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !Ref ${LOGICAL.launchTemplate}
        Version: !GetAtt ${LOGICAL.launchTemplate}.LatestVersionNumber
      VPCZoneIdentifier: !Ref Subnets
      TargetGroupARNs:
        - !Ref TargetGroupArn
      MinSize: '1'
      MaxSize: '${t.maxSize}'
      DesiredCapacity: '2'
      Tags:
        - Key: app-version
          Value: !Ref EnvironmentVersion
          PropagateAtLaunch: true
Outputs:
  GroupName:
    Description: The Auto Scaling group
    Value: !Ref ${LOGICAL.group}
  LaunchTemplateVersion:
    Description: The launch template version the group uses
    Value: !GetAtt ${LOGICAL.launchTemplate}.LatestVersionNumber
  Summary:
    Description: What runs where
    Value: !Sub '\${AWS::StackName} runs \${EnvironmentVersion}'
  SubnetList:
    Description: The group's subnets
    Value: !Join [',', !Ref Subnets]
${extraOutput}`;
}

/** The template of `version` in JSON: the YAML one with its short forms written out in full. */
export function templateJson(version: StackVersion): string {
  const doc = parseDocument(templateYaml(version), {
    customTags: [
      { tag: '!Ref', resolve: (v: string) => ({ Ref: v }) },
      { tag: '!Sub', resolve: (v: string) => ({ 'Fn::Sub': v }) },
      { tag: '!GetAtt', resolve: (v: string) => ({ 'Fn::GetAtt': v.split('.') }) },
      {
        tag: '!Join',
        collection: 'seq',
        resolve: (v: YAMLSeq) => ({ 'Fn::Join': v.toJSON() as unknown[] }),
      },
    ],
  });
  if (doc.errors.length > 0) throw new Error(`template ${version}: ${doc.errors[0]?.message}`);
  return `${JSON.stringify(doc.toJS(), null, 2)}\n`;
}

/** The stack of environment `env`. */
export function stackNameFor(env: string): string {
  return `capstan-env-${env}`;
}

/** Stack parameters for `version` in `world`. */
export function stackParameters(world: StackWorld, version: string): Parameter[] {
  return [
    { ParameterKey: 'EnvironmentVersion', ParameterValue: version },
    { ParameterKey: 'Subnets', ParameterValue: world.subnets.join(',') },
    { ParameterKey: 'TargetGroupArn', ParameterValue: world.targetGroupArn },
  ];
}

/** What Capstan tags an environment's stack with. */
export interface EnvStackTags {
  env: string;
  version: string;
  owner: string;
  expiresAt: string;
  blueprint: string;
  job: string;
  templateSha256: string;
  templateSource: string;
}

/** The stack tags for an environment, as Capstan writes them (keys `capstan:…`). */
export function envStackTags(t: EnvStackTags): Tag[] {
  return [
    { Key: 'capstan:env', Value: t.env },
    { Key: 'capstan:version', Value: t.version },
    { Key: 'capstan:owner', Value: t.owner },
    { Key: 'capstan:expires-at', Value: t.expiresAt },
    { Key: 'capstan:blueprint', Value: t.blueprint },
    { Key: 'capstan:job', Value: t.job },
    { Key: 'capstan:template-sha256', Value: t.templateSha256 },
    { Key: 'capstan:template-source', Value: t.templateSource },
  ];
}

/** A stack's tags, by key. */
export function tagsOf(stack: Pick<Stack, 'Tags'> | undefined): Record<string, string> {
  return Object.fromEntries((stack?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** A stack's parameter values, by key. */
export function paramsOf(stack: Stack | undefined): Record<string, string> {
  return Object.fromEntries(
    (stack?.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? '']),
  );
}

/** A stack's outputs, by key. */
export function outputsOf(stack: Stack | undefined): Record<string, string> {
  return Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

/** SDK clients on moto for the stack world (the tests' own, not Capstan's). */
export function stackClients(endpoint: string) {
  const config = motoConfig(endpoint);
  // A loopback IP endpoint makes the SDK address buckets by path; a host name such as `localhost`
  // would need forcePathStyle (the SDK would look up `<bucket>.localhost`).
  return {
    ...motoClients(endpoint),
    cloudFormation: new CloudFormationClient(config),
    s3: new S3Client(config),
  };
}

export type StackClients = ReturnType<typeof stackClients>;

/** What the stack world holds. */
export interface StackWorld {
  vpcId: string;
  subnets: string[];
  targetGroupArn: string;
}

/** Makes the network the stacks' groups use: a VPC, two subnets in two zones, a target group. */
export async function seedStackWorld(c: MotoClients, suffix: string): Promise<StackWorld> {
  const { vpcId, subnets } = await createVpcWithSubnets(c, 1);
  return { vpcId, subnets, targetGroupArn: await createTargetGroup(c, vpcId, `stack-web-${suffix}`) };
}

/**
 * Writes the template versions under a new temporary directory as `templates/<version>/stack.yaml`
 * and returns the `templates` directory.
 */
export async function writeTemplateDir(): Promise<string> {
  const root = join(await mkdtemp(join(tmpdir(), 'capstan-stack-')), 'templates');
  for (const version of STACK_VERSIONS) {
    await mkdir(join(root, version), { recursive: true });
    await writeFile(join(root, version, 'stack.yaml'), templateYaml(version));
  }
  return root;
}

/** Creates `bucket` and puts the template versions in it as `<prefix><version>/stack.yaml`. */
export async function seedTemplateBucket(s3: S3Client, bucket: string, prefix = 'web/'): Promise<string[]> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys: string[] = [];
  for (const version of STACK_VERSIONS) {
    const key = `${prefix}${version}/stack.yaml`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: templateYaml(version),
        ContentType: 'text/yaml',
      }),
    );
    keys.push(key);
  }
  return keys;
}
