import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { withSession } from '../../src/cli/session.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

let tp: TestProject;
beforeAll(async () => {
  tp = await makeProject({ hours: 0 });
});
afterAll(() => tp.cleanup());

const options = () => ({ memoryBytes: 256_000_000, threads: 1, spillDir: join(tp.dir, '.recount/spill/session-test') });

/** Open a session of the CLI's engine, run `fn` on it, close it. */
async function withEngineSession<T>(
  open: () => Promise<EngineSession>,
  fn: (s: EngineSession) => Promise<T>,
): Promise<T> {
  const s = await open();
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

describe('the CLI session', () => {
  // A backfill runs its attempts one after another on the session's engine: starting a DuckDB instance costs more
  // than the query of a small partition, so they must share one (before the fix, each attempt started its own).
  it('gives attempts one after another one DuckDB instance', async () => {
    await withSession(tp.dir, async (s) => {
      const open = () => s.engine.open(options());
      await withEngineSession(open, (a) => a.exec('CREATE TABLE memory.main.session_probe AS SELECT 42 AS v'));
      const seen = await withEngineSession(open, (b) =>
        b.query<{ v: number }>('SELECT v FROM memory.main.session_probe'),
      );
      expect(seen).toEqual([{ v: 42 }]);
    });
  });
});
