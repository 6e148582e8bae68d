// Start-up: recount's TypeScript sources are bundled once (esbuild, ~0.3 s) and rebuilt whenever a source file
// changes, so a command starts without a TypeScript loader hooked into every import. The bundle is split
// (one chunk per lazily imported command and module), so a command loads only what it needs: `--help` loads
// neither DuckDB nor SQLite nor PostgreSQL. The user's recount.config.ts and analyzers are compiled apart
// (see src/config/tsLoader.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** Entry points that can be bundled: the CLI, the worker process, and the public API users import. */
export const ENTRIES = { cli: 'src/cli/main.ts', worker: 'src/worker/workerMain.ts', api: 'src/index.ts' };

/**
 * Packages bundled in rather than imported at run time: pure ES modules spread over hundreds of files (Kysely
 * alone is ~1,000), which Node would otherwise resolve and read one by one at every start. Every other package
 * stays an import (native bindings, worker-thread transports, CommonJS).
 */
const INLINED = new Set(['kysely', 'zod']);

function externals() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((n) => !INLINED.has(n));
  return names.flatMap((n) => [n, `${n}/*`]);
}

/**
 * CommonJS packages loaded with require() rather than import: importing one makes Node lex it, and every module
 * it re-exports (the DuckDB client re-exports ~30), to guess its named exports, at every start.
 */
const REQUIRED = new Set(['@duckdb/node-api', 'better-sqlite3']);

const requireCommonJs = {
  name: 'require-commonjs',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.namespace !== 'require-commonjs' && REQUIRED.has(args.path)
        ? { path: args.path, namespace: 'require-commonjs' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'require-commonjs' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** Every output file defines require() for those packages (esbuild's ESM output has none of its own). */
const REQUIRE_BANNER =
  "import { createRequire as __recountCreateRequire } from 'node:module'; const require = __recountCreateRequire(import.meta.url);";

/** Bundles of this copy of recount: one folder per package root, so copies sharing a node_modules never evict each other. */
const cacheDir = join(
  root,
  'node_modules',
  '.cache',
  'recount',
  createHash('sha256').update(root).digest('hex').slice(0, 12),
);

/** A superseded bundle is removed only once it is this old: a running `recount serve` may still import its chunks lazily. */
const STALE_MS = 60 * 60 * 1000;

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
  h.update(statSync(fileURLToPath(import.meta.url)).mtimeMs.toString());
  return h.digest('hex').slice(0, 16);
}

/** Path of an up-to-date bundle of one entry, building every entry if the sources changed; undefined if bundling is unavailable. */
export async function bundled(entry) {
  if (process.env.RECOUNT_NO_BUNDLE) return undefined;
  try {
    const dir = join(cacheDir, sourceStamp());
    const out = join(dir, `${entry}.mjs`);
    if (!existsSync(out)) {
      const { build } = await import('esbuild');
      const tmp = `${dir}.${process.pid}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      const entryPoints = Object.fromEntries(Object.entries(ENTRIES).map(([name, src]) => [name, join(root, src)]));
      await build({
        entryPoints,
        bundle: true,
        splitting: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        external: externals(),
        outdir: tmp,
        outExtension: { '.js': '.mjs' },
        chunkNames: 'chunks/[name]-[hash]',
        plugins: [requireCommonJs],
        banner: { js: REQUIRE_BANNER },
        logLevel: 'silent',
        sourcemap: true,
      });
      try {
        renameSync(tmp, dir);
      } catch (err) {
        // Another process built the same sources first: use theirs.
        rmSync(tmp, { recursive: true, force: true });
        if (!existsSync(out)) throw err;
      }
      removeStale(dir);
    }
    return pathToFileURL(out).href;
  } catch {
    return undefined;
  }
}

function removeStale(current) {
  const now = Date.now();
  for (const name of readdirSync(cacheDir)) {
    const p = join(cacheDir, name);
    if (p === current) continue;
    try {
      if (now - statSync(p).mtimeMs > STALE_MS) rmSync(p, { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

/** Import an entry: its bundle when possible, else the TypeScript sources through tsx. */
export async function importEntry(entry) {
  const url = await bundled(entry);
  if (url) {
    globalThis.__recountBundled = true;
    // The bundle lives under node_modules/.cache, which may be a link to another checkout's: paths.ts asks here.
    globalThis.__recountPackageRoot = root;
    // Every entry is built into the same folder: the public API a project's `import 'recount'` gets.
    globalThis.__recountApiUrl = new URL('./api.mjs', url).href;
    return import(url);
  }
  const { register } = await import('node:module');
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  register('./resolve-recount.js', import.meta.url);
  return import(pathToFileURL(join(root, ENTRIES[entry])).href);
}
