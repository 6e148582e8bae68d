// Start-up: recount's TypeScript sources are bundled once (esbuild, ~0.3 s) into node_modules/.cache/recount/
// and rebuilt whenever a source file changes, so a command starts without a TypeScript loader hooked into
// every import. The user's recount.config.ts and analyzers are still loaded as TypeScript (see src/config/load.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** Entry points that can be bundled: the CLI, the worker process, and the public API users import. */
export const ENTRIES = { cli: 'src/cli/main.ts', worker: 'src/worker/workerMain.ts', api: 'src/index.ts' };

function sourceStamp() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith('.ts')) h.update(`${p}\0${st.size}\0${st.mtimeMs}\n`);
    }
  };
  walk(join(root, 'src'));
  h.update(statSync(join(root, 'package.json')).mtimeMs.toString());
  return h.digest('hex').slice(0, 16);
}

/** Path of an up-to-date bundle of one entry, building it if the sources changed; undefined if bundling is unavailable. */
export async function bundled(entry) {
  if (process.env.RECOUNT_NO_BUNDLE) return undefined;
  try {
    const out = join(root, 'node_modules', '.cache', 'recount', `${entry}-${sourceStamp()}.mjs`);
    if (!existsSync(out)) {
      const { build } = await import('esbuild');
      mkdirSync(dirname(out), { recursive: true });
      const tmp = `${out}.${process.pid}.tmp`;
      await build({ entryPoints: [join(root, ENTRIES[entry])], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: tmp, logLevel: 'silent', sourcemap: 'inline' });
      renameSync(tmp, out);
      // Older bundles of this entry are stale; a process that already imported one keeps it in memory.
      for (const f of readdirSync(dirname(out))) if (f.startsWith(`${entry}-`) && join(dirname(out), f) !== out && !f.endsWith('.tmp')) rmSync(join(dirname(out), f), { force: true });
    }
    return pathToFileURL(out).href;
  } catch {
    return undefined;
  }
}

/** Import an entry: its bundle when possible, else the TypeScript sources through tsx. */
export async function importEntry(entry) {
  const url = await bundled(entry);
  if (url) {
    globalThis.__recountBundled = true;
    return import(url);
  }
  const { register } = await import('node:module');
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  register('./resolve-recount.js', import.meta.url);
  return import(pathToFileURL(join(root, ENTRIES[entry])).href);
}
