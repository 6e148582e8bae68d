import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { duck, makeProject, tempDir, type TestProject } from '../helpers/project.ts';
import { AUTO_FILE_BYTES, autoFileCount, versionTag, writeLayout } from '../../src/layout/bucketing.ts';
import { duckdbKeyHash as keyHashSql } from '../../src/engine/duckdb/duckdbDialect.ts';
import { DuckDBEngine } from '../../src/engine/duckdb/duckdbEngine.ts';
import type { EngineSession } from '../../src/engine/engine.ts';
import { lit } from '../../src/engine/sql.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import { getAnalyzer } from '../../src/config/project.ts';

const MB128 = AUTO_FILE_BYTES;

describe('autoFileCount: about 128 MB a file', () => {
  it.each([
    [0, 1],
    [1, 1],
    [MB128, 1],
    [MB128 + 1, 2],
    [2 * MB128, 2],
    [8 * MB128, 8],
    [8 * MB128 + 1, 9],
  ])('%d bytes with no previous version -> %d files', (bytes, files) => {
    expect(autoFileCount(bytes)).toBe(files);
  });

  it('a rerun keeps the previous count while the size stays within half to twice of it', () => {
    // previous 4 files = 512 MB nominal: kept from 256 MB to 1 GB, though 257 MB alone would want 3.
    expect(autoFileCount(2 * MB128, 4)).toBe(4);
    expect(autoFileCount(2 * MB128 + 1, 4)).toBe(4);
    expect(autoFileCount(3 * MB128 - 1, 4)).toBe(4);
    expect(autoFileCount(5 * MB128, 4)).toBe(4);
    expect(autoFileCount(8 * MB128, 4)).toBe(4);
  });

  it('outside that band the count follows the size again', () => {
    expect(autoFileCount(2 * MB128 - 1, 4)).toBe(2);
    expect(autoFileCount(8 * MB128 + 1, 4)).toBe(9);
    expect(autoFileCount(100, 4)).toBe(1);
  });

  it('a single previous file has no lower bound and grows only past twice its size', () => {
    expect(autoFileCount(0, 1)).toBe(1);
    expect(autoFileCount(2 * MB128, 1)).toBe(1);
    expect(autoFileCount(2 * MB128 + 1, 1)).toBe(3);
  });

  it('a size wobbling across a file boundary never flips the count (the float-sum rerun case)', () => {
    let previous = autoFileCount(3 * MB128 + 10);
    expect(previous).toBe(4);
    for (const wobble of [-20, 15, -5, 30, -30]) {
      previous = autoFileCount(3 * MB128 + wobble, previous);
      expect(previous).toBe(4);
    }
  });

  it('honours a smaller target size', () => {
    expect(autoFileCount(1000, undefined, 300)).toBe(4);
    expect(autoFileCount(1000, 3, 300)).toBe(3);
  });
});

describe("writeLayout with files: 'auto' on real DuckDB", () => {
  let session: EngineSession;
  let root: string;
  const sql =
    'SELECT (i % 5000)::INTEGER AS ad_id, (i // 5000)::INTEGER AS day, (i * 7) % 1000 AS n FROM range(20000) t(i)';
  const keys = ['ad_id', 'day'];

  beforeAll(async () => {
    root = tempDir('recount-autofiles-');
    session = await new DuckDBEngine().open({ memoryBytes: 300_000_000, threads: 2, spillDir: join(root, 'spill') });
  });
  afterAll(() => session.close());

  async function layout(name: string, target?: number, previous?: number) {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    const r = await writeLayout(session, {
      sql,
      keys,
      files: 'auto',
      dir,
      targetFileBytes: target,
      previousFileCount: previous,
    });
    return { ...r, dir };
  }

  it('a small output is one sorted file', async () => {
    const r = await layout('one');
    expect(r.fileCount).toBe(1);
    expect(readdirSync(r.dir)).toEqual(['part-00000.parquet']);
    expect(r.files).toEqual([{ name: 'part-00000.parquet', rows: 20_000 }]);
  });

  it('past the target size it splits by hash(keys) into sorted files, leaving no whole-output file behind', async () => {
    const one = await layout('size');
    const [m] = await duck<{ b: string }>(
      `SELECT sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata(${lit(join(one.dir, 'part-00000.parquet'))})`,
    );
    const bytes = Number(m!.b);
    const target = Math.ceil(bytes / 3);
    const r = await layout('split', target);
    expect(r.fileCount).toBe(autoFileCount(bytes, undefined, target));
    expect(r.fileCount).toBeGreaterThanOrEqual(3);
    expect(readdirSync(r.dir).sort()).toEqual(r.files.map((f) => f.name));
    expect(r.files.reduce((s, f) => s + f.rows, 0)).toBe(20_000);
    const [bad] = await duck<{ misplaced: string; unsorted: string }>(
      `SELECT count(*) FILTER (WHERE ${keyHashSql(keys)} % ${r.fileCount} <> CAST(regexp_extract(parse_filename(filename), 'part-(\\d+)', 1) AS UBIGINT)) AS misplaced,
              count(*) FILTER (WHERE prev IS NOT NULL AND (ad_id, day) <= prev) AS unsorted
       FROM (SELECT *, lag((ad_id, day)) OVER (PARTITION BY filename ORDER BY file_row_number) AS prev
             FROM read_parquet(${lit(join(r.dir, '*.parquet'))}, filename = true, file_row_number = true))`,
    );
    expect(Number(bad!.misplaced)).toBe(0);
    expect(Number(bad!.unsorted)).toBe(0);
  });

  it('a previous file count within the band is kept, so keys stay in their files', async () => {
    const one = await layout('size2');
    const [m] = await duck<{ b: string }>(
      `SELECT sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata(${lit(join(one.dir, 'part-00000.parquet'))})`,
    );
    const target = Math.ceil(Number(m!.b) / 3);
    const r = await layout('kept', target, 2);
    expect(r.fileCount).toBe(2);
    expect(readdirSync(r.dir).sort()).toEqual(['part-00000.parquet', 'part-00001.parquet']);
  });
});

describe("files: 'auto' in a real run", () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({
      hours: 1,
      rowsPerHour: 3000,
      examples: false,
      analyzers: {
        auto_hourly: `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({ name: 'auto_hourly', inputs: ['events'], grain: 'hour', files: 'auto',
  sql: "SELECT ad_id, country, count(*)::BIGINT AS n FROM events GROUP BY ALL" });`,
      },
    });
  });
  afterAll(() => tp.cleanup());

  it('publishes one sorted file for a small partition, records the count in the manifest, and keeps it on a rerun', async () => {
    const ctx = await tp.open();
    try {
      const a = getAnalyzer(ctx.project, 'auto_hourly');
      expect(a.fileCount).toBe('auto');
      for (const expectedVersion of [1, 2]) {
        const r = await runPartition(ctx, a, '2023-10-12T00');
        expect(r.error).toBeUndefined();
        expect(r.version).toBe(expectedVersion);
        expect(r.files).toBe(1);
        expect(readdirSync(r.publishedPath!).sort()).toEqual([
          '_SUCCESS',
          '_manifest.json',
          `part-00000-${versionTag(r.attemptId)}.parquet`,
        ]);
        const manifest = JSON.parse(readFileSync(join(r.publishedPath!, '_manifest.json'), 'utf8'));
        expect(manifest.layout.files).toBe(1);
        expect(manifest.keys).toEqual(['ad_id', 'country']);
      }
    } finally {
      await ctx.close();
    }
  });
});
