import { isAbsolute, resolve } from 'node:path';
import { RecountError } from '../errors.ts';
import type { StateStore } from './store.ts';
import { openSqliteStore } from './sqlite/sqliteStore.ts';

/** Open the state store a URL names: `sqlite:<path>` (relative to the project) — PostgreSQL comes with the team setup. */
export async function openStateStore(url: string, projectDir: string): Promise<StateStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    return openSqliteStore(isAbsolute(path) ? path : resolve(projectDir, path));
  }
  throw new RecountError('CONFIG_INVALID', `state: unsupported state store '${url.replace(/\/\/[^@]*@/, '//***@')}'`, {
    subject: 'state',
    hint: "use 'sqlite:.recount/state.db' (the default)",
  });
}
