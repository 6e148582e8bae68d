import { isAbsolute, resolve } from 'node:path';
import { RecountError } from '../errors.ts';
import type { StateStore } from './store.ts';
import { maskUrl } from '../config/secrets.ts';

/** Open the state store a URL names: `sqlite:<path>` (relative to the project) or `postgres://…` (for teams). */
export async function openStateStore(url: string, projectDir: string): Promise<StateStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    // Each store's client is imported only when a project uses it: SQLite projects never load pg, and back.
    const { openSqliteStore } = await import('./sqlite/sqliteStore.ts');
    return openSqliteStore(isAbsolute(path) ? path : resolve(projectDir, path));
  }
  if (/^postgres(ql)?:\/\//i.test(url)) return (await import('./postgres/postgresStore.ts')).openPostgresStore(url);
  throw new RecountError('CONFIG_INVALID', `state: unsupported state store '${maskUrl(url)}'`, {
    subject: 'state',
    hint: "use 'sqlite:.recount/state.db' (the default) or postgres://user:password@host:5432/database, in recount.config.ts or RECOUNT_STATE",
  });
}
