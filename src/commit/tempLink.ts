import { randomBytes } from 'node:crypto';

/**
 * Names of the temporary links a publish renames over the published path (under `.recount/tmp`). The name says
 * who made it (host and process token), so a sweep on any host or container can ask ownerAlive() about it; it
 * lives for one rename, so any link left there belongs to a process that died between symlink and rename.
 */
export function tempLinkName(host: string, token: string): string {
  return `link.${Buffer.from(JSON.stringify([host, token])).toString('base64url')}.${randomBytes(4).toString('hex')}`;
}

/** The owner a temp link's name records, 'unknown' for a name from before owners were recorded (`link-<pid>-…`), or undefined for another file. */
export function tempLinkOwner(name: string): { host: string; token: string } | 'unknown' | undefined {
  const m = /^link\.([A-Za-z0-9_-]+)\.[0-9a-f]+$/.exec(name);
  if (m) {
    try {
      const [host, token] = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as unknown[];
      if (typeof host === 'string' && typeof token === 'string') return { host, token };
    } catch {
      return undefined;
    }
    return undefined;
  }
  return /^link-\d+-[0-9a-f]+$/.test(name) ? 'unknown' : undefined;
}
