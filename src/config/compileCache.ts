import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Where a project's compiled config and analyzers are kept: beside its state, ignored like it. */
export function compileCacheDir(projectDir: string): string {
  return join(projectDir, '.recount', 'cache');
}

/** What the cache remembers of one source file: the output it compiled to, and every file that went into it. */
interface CacheEntry {
  /** Bumped when the way files are compiled changes: an entry of another format is rebuilt. */
  readonly format: number;
  /** What `import … from 'recount'` was compiled to: an entry for another copy of recount is rebuilt. */
  readonly recount: string;
  /** Every file bundled in (the source and the files it imports by path), with the sha256 of its content. */
  readonly inputs: readonly (readonly [path: string, sha256: string])[];
  /** The compiled ES module, named by the hash of its text. */
  readonly out: string;
}

const FORMAT = 1;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function upToDate(entry: CacheEntry, recountUrl: string): boolean {
  if (entry.format !== FORMAT || entry.recount !== recountUrl || !existsSync(entry.out)) return false;
  for (const [path, hash] of entry.inputs) {
    let text: Buffer;
    try {
      text = readFileSync(path);
    } catch {
      return false;
    }
    if (sha256(text) !== hash) return false;
  }
  return true;
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The cache's index entry of one source file. */
function indexPath(absPath: string, projectDir: string): string {
  return join(
    compileCacheDir(projectDir),
    `${basename(absPath).replace(/\W/g, '_')}-${sha256(absPath).slice(0, 12)}.json`,
  );
}

/** The compiled module of a file when the cache holds one up to date, else undefined; never writes. */
export function cachedModule(absPath: string, projectDir: string, recountUrl: string): string | undefined {
  try {
    const entry = JSON.parse(readFileSync(indexPath(absPath, projectDir), 'utf8')) as CacheEntry;
    return upToDate(entry, recountUrl) ? entry.out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A project's TypeScript (or JavaScript) file compiled once into a plain ES module under `.recount/cache/`,
 * and compiled again only when the file or one it imports by path changes (each checked by the sha256 of its
 * content). The module is ESM whatever the project's package.json says (or without one), so Node loads it with
 * no TypeScript loader: `import 'recount'` becomes this copy of recount, files imported by a relative path
 * (or a file: URL) are bundled in, and packages stay imports, resolved from the project as before.
 * Returns the compiled module's path; throws esbuild's error (file, line and column) on a syntax error, and
 * a filesystem error when the cache folder cannot be written.
 */
export async function compiledModule(absPath: string, projectDir: string, recountUrl: string): Promise<string> {
  const dir = compileCacheDir(projectDir);
  const index = indexPath(absPath, projectDir);
  let previous: CacheEntry | undefined;
  try {
    previous = JSON.parse(readFileSync(index, 'utf8')) as CacheEntry;
    if (upToDate(previous, recountUrl)) return previous.out;
  } catch {
    previous = undefined;
  }
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [absPath],
    absWorkingDir: dirname(absPath),
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [
      {
        name: 'recount-project',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            if (args.path === 'recount') return { path: recountUrl, external: true };
            if (args.path.startsWith('file:')) return { path: fileURLToPath(args.path) };
            if (args.path.startsWith('.') || isAbsolute(args.path)) return undefined;
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const text = result.outputFiles[0]!.text;
  const inputs = Object.keys(result.metafile.inputs).map((p) => {
    const abs = resolve(dirname(absPath), p);
    return [abs, sha256(readFileSync(abs))] as const;
  });
  mkdirSync(dir, { recursive: true });
  const out = join(
    dir,
    `${basename(absPath)
      .replace(/\.[^.]+$/, '')
      .replace(/\W/g, '_')}-${sha256(text).slice(0, 16)}.mjs`,
  );
  if (!existsSync(out)) writeAtomically(out, text);
  writeAtomically(
    index,
    `${JSON.stringify({ format: FORMAT, recount: recountUrl, inputs, out } satisfies CacheEntry)}\n`,
  );
  // The output this one replaces: a process that imported it already holds it in memory.
  if (previous?.out && previous.out !== out && dirname(previous.out) === dir) rmSync(previous.out, { force: true });
  return out;
}

/** The module `import … from 'recount'` in a project compiles to: the bundled public API, or recount's sources. */
export function recountModuleUrl(apiUrl: string | undefined, packageRoot: string): string {
  return apiUrl ?? pathToFileURL(join(packageRoot, 'src', 'index.ts')).href;
}
