import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/project.ts';
import { openSqliteStore } from '../../src/state/sqlite/sqliteStore.ts';
import { stateStoreContract } from './contract.ts';

stateStoreContract('SQLite', {
  concurrentInProcess: false,
  async open() {
    const dir = tempDir();
    const file = join(dir, 'state.db');
    const store = await openSqliteStore(file);
    return {
      store,
      second: () => openSqliteStore(file),
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
