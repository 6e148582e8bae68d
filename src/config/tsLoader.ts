import { register } from 'node:module';
import { packagePath } from '../paths.ts';
import { pathToFileURL } from 'node:url';

let registered = false;

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
  const { bundled } = (await import(pathToFileURL(packagePath('bin/bundle.js')).href)) as { bundled(entry: string): Promise<string | undefined> };
  const apiUrl = await bundled('api');
  register(pathToFileURL(packagePath('bin/resolve-recount.js')).href, { data: { apiUrl } });
}
