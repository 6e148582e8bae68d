import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../commit/manifest.ts';

/**
 * Why a kept version cannot be read (its folder, manifest or a listed file gone, or a file truncated), or
 * undefined when every file its manifest lists is there with its size. Shared by doctor, which reports such
 * versions, and `gc --broken`, which forgets them, so both judge a version the same way.
 */
export function unreadableReason(dir: string): string | undefined {
  if (!existsSync(dir)) return `its folder ${dir} is gone`;
  const manifest = readManifest(dir);
  if (!manifest) return `its manifest ${join(dir, '_manifest.json')} is gone`;
  const gone = manifest.files.filter((f) => {
    try {
      return statSync(join(dir, f.path)).size !== f.bytes;
    } catch {
      return true;
    }
  });
  return gone.length
    ? `${gone.length} of its ${manifest.files.length} file(s) are gone or truncated: ${gone
        .slice(0, 3)
        .map((f) => f.path)
        .join(', ')}`
    : undefined;
}
