/** Small pure helpers shared by the services: pagination, filters, tags, time. */

/** An AWS-style opaque pagination token over a list (the offset of the next page). */
export function paginate<T>(
  items: T[],
  token: string | undefined,
  pageSize: number,
  invalidToken: () => Error,
): { page: T[]; next: string | undefined } {
  let offset = 0;
  if (token !== undefined && token !== '') {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown };
      if (typeof parsed.o !== 'number' || !Number.isInteger(parsed.o) || parsed.o < 0) throw new Error();
      offset = parsed.o;
    } catch {
      throw invalidToken();
    }
  }
  const page = items.slice(offset, offset + pageSize);
  const end = offset + page.length;
  return {
    page,
    next: end < items.length ? Buffer.from(JSON.stringify({ o: end })).toString('base64url') : undefined,
  };
}

/** EC2 filter values allow `*` (any run) and `?` (one character). */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  const re = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`, 's').test(value);
}

export interface Filter {
  Name?: string | undefined;
  Values?: string[] | undefined;
}

/**
 * Applies AWS filters: every filter must match (AND), any of a filter's values may (OR).
 * `field(name, item)` gives the item's values for a filter name, or `undefined` when the
 * name is not a filter this resource supports (then `unknown(name)` is thrown).
 */
export function applyFilters<T>(
  items: T[],
  filters: Filter[] | undefined,
  field: (name: string, item: T) => string[] | undefined,
  unknown: (name: string) => Error,
  glob = false,
): T[] {
  if (!filters || filters.length === 0) return items;
  return items.filter((item) =>
    filters.every((f) => {
      const name = f.Name ?? '';
      const have = field(name, item);
      if (have === undefined) throw unknown(name);
      const wanted = f.Values ?? [];
      return wanted.some((w) => have.some((h) => (glob ? globMatch(w, h) : w === h)));
    }),
  );
}

/** Values of tag filters shared by services: `tag:<key>`, `tag-key`, `tag-value`. */
export function tagFilterValues(
  name: string,
  tags: { Key?: string | undefined; Value?: string | undefined }[],
): string[] | undefined {
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return tags.filter((t) => t.Key === key).map((t) => t.Value ?? '');
  }
  if (name === 'tag-key') return tags.map((t) => t.Key ?? '');
  if (name === 'tag-value') return tags.map((t) => t.Value ?? '');
  return undefined;
}

export function toDate(ms: number): Date {
  return new Date(ms);
}

/** `Date`, epoch milliseconds, an ISO string, or (for seeds) a time relative to `now`: `-15m`, `now`. */
export function parseTime(value: Date | number | string, now: number): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  const v = value.trim();
  if (v === 'now') return now;
  const rel = /^([+-])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(v);
  if (rel) {
    const ms = parseDuration(`${rel[2]}${rel[3]}`);
    return rel[1] === '-' ? now - ms : now + ms;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`not a time: ${value}`);
  return t;
}

/** `500ms`, `30s`, `5m`, `2h`, `1d`, or a number of milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) throw new Error(`not a duration: ${value}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Math.round(n * unit);
}

/** `2024-05-01T10:00:00Z`-style text (AWS messages use it). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The n-th host address of an IPv4 CIDR. */
export function hostAddress(cidr: string, n: number): string {
  const [base, bitsText] = cidr.split('/');
  const parts = (base ?? '').split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad CIDR ${cidr}`);
  }
  const bits = Number(bitsText ?? 32);
  const size = 2 ** (32 - bits);
  const start =
    ((parts[0] ?? 0) * 2 ** 24 + (parts[1] ?? 0) * 2 ** 16 + (parts[2] ?? 0) * 2 ** 8 + (parts[3] ?? 0)) >>>
    0;
  const addr = start + (n % Math.max(1, size));
  return [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join('.');
}
