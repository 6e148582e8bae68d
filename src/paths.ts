import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of recount's own package.json, found by walking up from this module, so paths to shipped
 * files hold both from src/ and from the bundle the CLI runs (node_modules/.cache/recount/).
 */
function findPackageRoot(): string {
  // Set by bin/bundle.js: the bundle's own folder may sit in a node_modules shared with another copy of recount.
  const fromBin = (globalThis as { __recountPackageRoot?: string }).__recountPackageRoot;
  if (fromBin) return fromBin;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'recount') return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error('recount: cannot find its own package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** recount's package folder. */
export const PACKAGE_ROOT = findPackageRoot();

/** A file shipped with recount, by its path inside the package (e.g. `examples/ad-tech/recount.config.ts`). */
export function packagePath(relative: string): string {
  return join(PACKAGE_ROOT, relative);
}
