/**
 * The sandbox's SNS identity: a CA, the TLS certificate its HTTPS endpoint presents as
 * `sns.<region>.amazonaws.com`, and the key and certificate it signs messages with. Made once with the
 * `openssl` CLI (Node cannot issue X.509 certificates) and kept in Redis at
 * `${prefix}:sandbox:sns:identity`, so every process (web, workers, tests) serves and signs with the
 * same one: the first to store it (SET NX) wins and every other process reads that one.
 *
 * The CA's key is not kept: nothing is issued after the identity is made.
 */

import { execFile } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RedisClient } from '../../src/redis.js';
import { knownSnsHosts } from './regions.js';

const run = promisify(execFile);

/** What the sandbox's SNS serves and signs with (PEM text). */
export interface SnsIdentity {
  version: 1;
  /** When it was made (epoch ms). */
  createdAt: number;
  /** The CA the agent trusts (and nothing else). */
  caCert: string;
  /** The HTTPS endpoint's certificate: `sns.<region>.amazonaws.com` for every known Region. */
  tlsCert: string;
  tlsKey: string;
  /** The message signing certificate (served at `/<certificateName>`) and its key. */
  signingCert: string;
  signingKey: string;
  /** `SimpleNotificationService-<32 hex>.pem`, the path of the signing certificate. */
  certificateName: string;
}

/** The Redis key of the identity. */
export function snsIdentityKey(prefix: string): string {
  return `${prefix}:sandbox:sns:identity`;
}

/** The stored identity, or a new one stored first (whichever process stores first, all use that one). */
export async function loadSnsIdentity(redis: RedisClient, prefix: string): Promise<SnsIdentity> {
  const key = snsIdentityKey(prefix);
  const stored = await redis.get(key);
  if (stored) return parseIdentity(stored, key);
  const made = await makeSnsIdentity();
  await redis.set(key, JSON.stringify(made), 'NX');
  const agreed = await redis.get(key);
  if (!agreed) throw new Error(`AWS sandbox: the SNS identity at ${key} vanished as it was stored`);
  return parseIdentity(agreed, key);
}

function parseIdentity(text: string, key: string): SnsIdentity {
  const value = JSON.parse(text) as Partial<SnsIdentity>;
  if (
    value.version !== 1 ||
    !value.caCert ||
    !value.tlsCert ||
    !value.tlsKey ||
    !value.signingCert ||
    !value.signingKey ||
    !value.certificateName
  ) {
    throw new Error(`AWS sandbox: ${key} does not hold an SNS identity (delete the key to make a new one)`);
  }
  return value as SnsIdentity;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, timeout: 60_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        'AWS sandbox: the SNS stand-in needs the openssl CLI (Debian: apt-get install openssl)',
      );
    throw new Error(`AWS sandbox: openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** A random 128-bit serial number for `openssl x509 -set_serial`. */
function serial(): string {
  return `0x${randomBytes(16).toString('hex')}`;
}

/** Makes a new identity with openssl in a temporary directory (removed afterwards). */
export async function makeSnsIdentity(): Promise<SnsIdentity> {
  const dir = await mkdtemp(join(tmpdir(), 'capstan-sandbox-sns-'));
  try {
    await openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '3650',
      '-subj',
      '/CN=Capstan AWS sandbox SNS CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]);
    // Node matches a wildcard against one label only (`*.amazonaws.com` does not cover
    // sns.us-east-1.amazonaws.com), so the certificate names each Region's SNS host.
    const sans = knownSnsHosts()
      .map((h) => `DNS:${h}`)
      .join(',');
    await issue(dir, 'tls', 'sns.amazonaws.com', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sans}`,
    ]);
    // AWS's signing certificates are issued to sns.amazonaws.com too.
    await issue(dir, 'signing', 'sns.amazonaws.com', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
    ]);
    const read = (name: string) => readFile(join(dir, name), 'utf8');
    const signingCert = await read('signing.crt');
    const fingerprint = createHash('sha256').update(new X509Certificate(signingCert).raw).digest('hex');
    return {
      version: 1,
      createdAt: Date.now(),
      caCert: await read('ca.crt'),
      tlsCert: await read('tls.crt'),
      tlsKey: await read('tls.key'),
      signingCert,
      signingKey: await read('signing.key'),
      certificateName: `SimpleNotificationService-${fingerprint.slice(0, 32)}.pem`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A key and a certificate for `cn`, signed by the CA in `dir`, with the given v3 extensions. */
async function issue(dir: string, name: string, cn: string, extensions: string[]): Promise<void> {
  await openssl(dir, [
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  await writeFile(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    serial(),
    '-days',
    '825',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}
