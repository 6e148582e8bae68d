import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import { tempDir } from '../helpers/project.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/closeWhileSampling.ts', import.meta.url));

describe('DuckDB engine session', () => {
  it('closing a session while memory and spill samples are in flight neither crashes nor hangs the process', () => {
    // Before the fix, closing the sampling connection and the instance under a running sample killed the process
    // with SIGSEGV or "corrupted double-linked list", or deadlocked it, within a few hundred sessions.
    const dir = tempDir('recount-close-race-');
    const r = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, join(dir, 'spill'), '400'], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    rmSync(dir, { recursive: true, force: true });
    expect({ signal: r.signal, status: r.status, stderr: r.stderr.slice(-500) }).toEqual({
      signal: null,
      status: 0,
      stderr: '',
    });
    const out = JSON.parse(r.stdout) as { sessions: number; sampled: number };
    expect(out.sessions).toBe(400);
    expect(out.sampled).toBe(400);
  }, 120_000);

  it('a database an attempt attached is detached before its instance serves the next attempt', async () => {
    const dir = tempDir('recount-attach-');
    const engine = new DuckDBEngine();
    const options = { memoryBytes: 200_000_000, threads: 1, spillDir: join(dir, 'spill') };
    const first = await engine.open(options);
    await first.exec(`ATTACH '${join(dir, 'other.duckdb')}' AS other`);
    await first.exec('CREATE TABLE other.t AS SELECT 1 AS x');
    first.close();
    const second = await engine.open(options);
    try {
      const names = (
        await second.query<{ name: string }>('SELECT database_name AS name FROM duckdb_databases() WHERE NOT internal')
      ).map((r) => r.name);
      expect(names).not.toContain('other');
      // The file is free: this attempt can attach it again, read-write.
      await second.exec(`ATTACH '${join(dir, 'other.duckdb')}' AS again`);
      expect(await second.query('SELECT x FROM again.t')).toEqual([{ x: 1 }]);
    } finally {
      second.close();
      await engine.closeIdle();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('each attempt on a shared instance runs with its own memory limit, threads and spill folder (I6)', async () => {
    const dir = tempDir('recount-limits-');
    const engine = new DuckDBEngine();
    const settings = async (o: { memoryBytes: number; threads: number; spillDir: string }) => {
      const s = await engine.open(o);
      try {
        const [row] = await s.query<{ m: string; t: string; d: string }>(
          `SELECT current_setting('memory_limit') AS m, current_setting('threads')::VARCHAR AS t, current_setting('temp_directory') AS d`,
        );
        return row;
      } finally {
        s.close();
      }
    };
    try {
      const a = { memoryBytes: 300_000_000, threads: 1, spillDir: join(dir, 'a') };
      const b = { memoryBytes: 500_000_000, threads: 2, spillDir: join(dir, 'b') };
      // a, then b (every limit changes), then a again, then a once more (nothing changes but the spill folder).
      const seen = [
        await settings(a),
        await settings(b),
        await settings(a),
        await settings({ ...a, spillDir: join(dir, 'c') }),
      ];
      expect(seen.map((r) => [r?.t, r?.d])).toEqual([
        ['1', join(dir, 'a')],
        ['2', join(dir, 'b')],
        ['1', join(dir, 'a')],
        ['1', join(dir, 'c')],
      ]);
      // DuckDB prints the limit in its own units: equal limits print alike, different ones differently.
      expect(seen[0]?.m).toBe(seen[2]?.m);
      expect(seen[0]?.m).not.toBe(seen[1]?.m);
    } finally {
      await engine.closeIdle();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
