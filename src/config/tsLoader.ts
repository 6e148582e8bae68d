import { register } from 'node:module';
import { PACKAGE_ROOT, packagePath } from '../paths.ts';
import { pathToFileURL } from 'node:url';
import { cachedModule, compiledModule, recountModuleUrl } from './compileCache.ts';

let registered = false;
let moduleHookRegistered = false;

/**
 * Make a user's TypeScript project importable: tsx for .ts files, and `recount` resolving to this copy of
 * recount. Registered only when a project is loaded, after recount's own modules, so they pay no loader cost.
 * Only the bundled CLI needs it (bin/bundle.js marks itself); running from sources, tsx or vitest already loads TypeScript.
 */
export async function ensureTsLoader(): Promise<void> {
  if (registered || !(globalThis as { __recountBundled?: boolean }).__recountBundled) return;
  registered = true;
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  const { bundled } = (await import(pathToFileURL(packagePath('bin/bundle.js')).href)) as {
    bundled(entry: string): Promise<string | undefined>;
  };
  const apiUrl = await bundled('api');
  register(pathToFileURL(packagePath('bin/resolve-recount.js')).href, { data: { apiUrl } });
}

/** The query parameter that marks a file (and the TypeScript files it imports relatively) as an ES module. */
const MODULE_MARK = 'recount-esm';

// A resolve hook, run before tsx's: a .ts/.mts file marked (or imported from a marked file, outside
// node_modules) is an ES module whatever the nearest package.json says. Without it, a file outside any
// `"type": "module"` package (a candidate in /tmp or ~) is taken for CommonJS, and its `import`/`export`
// fail with "Cannot require() ES Module … in a cycle".
const MODULE_HOOK = `
const MARK = ${JSON.stringify(MODULE_MARK)};
const marked = (url) => { try { return new URL(url).searchParams.has(MARK); } catch { return false; } };
export async function resolve(specifier, context, nextResolve) {
  const r = await nextResolve(specifier, context);
  if (!r.url.startsWith('file:') || r.url.includes('/node_modules/')) return r;
  const u = new URL(r.url);
  if (!/\\.m?ts$/.test(u.pathname)) return r;
  if (!marked(r.url) && !(context.parentURL && marked(context.parentURL))) return r;
  u.searchParams.set(MARK, '1');
  return { ...r, url: u.href, format: 'module' };
}
`;

/**
 * Import a TypeScript or JavaScript file as an ES module from anywhere on disk: with or without a
 * package.json beside it, with or without `import { defineAnalyzer } from 'recount'`.
 */
export async function importModuleFile(absPath: string): Promise<Record<string, unknown>> {
  await ensureTsLoader();
  const url = pathToFileURL(absPath);
  if (!moduleHookRegistered) {
    register(`data:text/javascript,${encodeURIComponent(MODULE_HOOK)}`);
    moduleHookRegistered = true;
  }
  url.searchParams.set(MODULE_MARK, '1');
  return (await import(url.href)) as Record<string, unknown>;
}

/**
 * Import one of a project's files (recount.config.ts, analyzers/*.ts) as an ES module: compiled once into
 * `.recount/cache/` and reused while it and the files it imports are unchanged (no TypeScript loader at all),
 * with or without `"type": "module"` or a package.json. Where the cache cannot be written (a read-only
 * project), or must not be (`readOnly`: doctor, gc --dry-run) and holds nothing up to date, the file is loaded
 * through tsx as before.
 */
export async function importProjectFile(
  absPath: string,
  projectDir: string,
  opts: { readOnly?: boolean } = {},
): Promise<Record<string, unknown>> {
  const recountUrl = recountModuleUrl((globalThis as { __recountApiUrl?: string }).__recountApiUrl, PACKAGE_ROOT);
  let out: string | undefined;
  try {
    out = opts.readOnly
      ? cachedModule(absPath, projectDir, recountUrl)
      : await compiledModule(absPath, projectDir, recountUrl);
  } catch (err) {
    // esbuild's own errors (a syntax error, an import it cannot find) are the user's to fix; anything else
    // is the cache folder (read-only, full): load the file without the cache.
    if (Array.isArray((err as { errors?: unknown }).errors)) throw err;
    return importModuleFile(absPath);
  }
  // A read-only command with nothing usable in the cache: loaded through tsx, writing nothing.
  if (out === undefined) return importModuleFile(absPath);
  try {
    return (await import(pathToFileURL(out).href)) as Record<string, unknown>;
  } catch (err) {
    // Another process recompiled the file and removed this output between our look-up and our import.
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !String((err as Error).message).includes(out))
      throw err;
    return (await import(pathToFileURL(await compiledModule(absPath, projectDir, recountUrl)).href)) as Record<
      string,
      unknown
    >;
  }
}
