/**
 * Reading a stack blueprint's templates: from a file (its git commit when it lives in a work tree),
 * or from S3 (its ETag); listing the versions of a versioned template. The body's SHA-256 goes on the
 * stack, so a running environment points back to the exact template that built it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { sortVersions, templateOf, versionPattern } from '../domain/stack.js';
import { ErrorCode, UserError } from '../errors.js';
import type { TemplateInput } from './cloudformation.js';

const run = promisify(execFile);

/** CloudFormation takes a template body of at most 51,200 bytes; a bigger one must come from S3. */
export const MAX_TEMPLATE_BODY = 51_200;

/** A template, read. */
export interface LoadedTemplate {
  input: TemplateInput;
  sha256: string;
  /** For the `capstan:template-source` tag: git commit and path, S3 object and ETag, or file. */
  source: string;
  /** Where it was read from, for messages. */
  location: string;
}

interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key`, `https://bucket.s3[.region].amazonaws.com/key` or `https://s3[.region].amazonaws.com/bucket/key`. */
export function parseS3Location(template: string): S3Location | undefined {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(template);
  if (s3) return { bucket: s3[1] as string, key: s3[2] as string };
  const virtual = /^https:\/\/([^/]+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com(?:\.cn)?\/(.+)$/.exec(template);
  if (virtual) return { bucket: virtual[1] as string, key: virtual[2] as string };
  const path = /^https:\/\/s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com(?:\.cn)?\/([^/]+)\/(.+)$/.exec(template);
  if (path) return { bucket: path[1] as string, key: path[2] as string };
  return undefined;
}

/** Tag values allow letters, digits, spaces and `_ . : / = + - @`, at most 256 characters. */
function tagValue(text: string): string {
  return text.replace(/[^\p{L}\p{N}\s_.:/=+\-@]/gu, '-').slice(0, 256);
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The commit that last changed `path`, `+modified` when the work tree differs; undefined outside git. */
async function gitCommitOf(path: string): Promise<{ commit: string; relativePath: string } | undefined> {
  const cwd = dirname(path);
  try {
    const top = (
      await run('git', ['-C', cwd, 'rev-parse', '--show-toplevel'], { timeout: 5_000 })
    ).stdout.trim();
    const log = await run('git', ['-C', cwd, 'log', '-1', '--format=%H', '--', basename(path)], {
      timeout: 5_000,
    });
    const commit = log.stdout.trim();
    if (!commit) return undefined;
    const status = await run('git', ['-C', cwd, 'status', '--porcelain', '--', basename(path)], {
      timeout: 5_000,
    });
    return {
      commit: `${commit.slice(0, 12)}${status.stdout.trim() ? '+modified' : ''}`,
      relativePath: relative(top, path),
    };
  } catch {
    return undefined;
  }
}

/** Reads the template at `location` (a version already filled in). */
export async function loadTemplate(
  s3: S3Client,
  location: string,
  sourceHint?: string,
): Promise<LoadedTemplate> {
  const where = parseS3Location(location);
  const prefix = sourceHint ? `${sourceHint} ` : '';
  if (where) {
    let body: Buffer;
    let etag = '';
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: where.bucket, Key: where.key }));
      body = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
      etag = (out.ETag ?? '').replaceAll('"', '');
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') {
        throw new UserError(`The template ${location} does not exist in S3.`, ErrorCode.NotFound, {
          cause: error,
        });
      }
      throw error;
    }
    const url = `https://${where.bucket}.s3.amazonaws.com/${where.key}`;
    return {
      input: body.length <= MAX_TEMPLATE_BODY ? { body: body.toString('utf8') } : { url },
      sha256: sha256(body),
      source: tagValue(`${prefix}s3://${where.bucket}/${where.key}${etag ? ` etag:${etag}` : ''}`),
      location,
    };
  }
  if (/^https?:\/\//.test(location)) {
    throw new UserError(`The template ${location} is neither a file nor an S3 object URL.`);
  }
  let body: Buffer;
  try {
    body = await readFile(location);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`The template ${location} does not exist.`, ErrorCode.NotFound, { cause: error });
    }
    throw error;
  }
  if (body.length > MAX_TEMPLATE_BODY) {
    throw new UserError(
      `The template ${location} is ${body.length} bytes; CloudFormation takes at most ${MAX_TEMPLATE_BODY} bytes as a body. Put it in S3 and give the blueprint its s3:// URL.`,
    );
  }
  const git = await gitCommitOf(location);
  return {
    input: { body: body.toString('utf8') },
    sha256: sha256(body),
    source: tagValue(
      `${prefix}${git ? `git:${git.commit} ${git.relativePath}` : `file:${basename(location)}`}`,
    ),
    location,
  };
}

/**
 * The versions of a versioned template (`{version}` in its path), oldest first: the directory
 * entries (or S3 keys) its pattern matches.
 */
export async function listTemplateVersions(s3: S3Client, template: string): Promise<string[]> {
  const pattern = versionPattern(template);
  const where = parseS3Location(template);
  const found: string[] = [];
  if (where) {
    const [prefix = ''] = where.key.split('{version}');
    const keyPattern = versionPattern(where.key);
    for await (const page of paginateListObjectsV2(
      { client: s3 },
      { Bucket: where.bucket, Prefix: prefix },
    )) {
      for (const o of page.Contents ?? []) {
        const m = keyPattern.exec(o.Key ?? '');
        if (m?.[1]) found.push(m[1]);
      }
    }
    return sortVersions(found);
  }
  // The directory that holds the versions: everything before the segment with `{version}`.
  const [before = ''] = template.split('{version}');
  const dir = before.endsWith('/') ? before.slice(0, -1) : dirname(before);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  for (const name of names) {
    // A candidate version is the part of the name where `{version}` stands; its template must exist.
    const segment = template.slice(dir.length + 1).split('/')[0] ?? '';
    const [pre = '', post = ''] = segment.split('{version}');
    if (!name.startsWith(pre) || !name.endsWith(post) || name.length <= pre.length + post.length) continue;
    const version = name.slice(pre.length, name.length - post.length);
    const path = templateOf(template, version);
    if (!pattern.test(path)) continue;
    try {
      if ((await stat(path)).isFile()) found.push(version);
    } catch {
      // A directory without the template is not a version.
    }
  }
  return sortVersions(found);
}
