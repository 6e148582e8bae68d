import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineSession } from '../../src/engine/engine.ts';
import { lit } from '../../src/engine/sql.ts';
import { isFloatType } from '../../src/layout/keys.ts';
import { partFileName } from '../../src/layout/bucketing.ts';
import { runChecks } from '../../src/checks/runChecks.ts';
import { checkInputFiles, explainQueryError } from '../../src/run/inputs.ts';
import { RecountError } from '../../src/errors.ts';
import type { ResolvedInput } from '../../src/catalog/dataset.ts';
import { parsePartition } from '../../src/catalog/partition.ts';
import { duck } from '../helpers/project.ts';

/** Opens sessions of one engine; `dir` is a scratch folder on storage both recount and the engine see. */
export interface EngineFactory {
  /** The engine's name as sessions report it. */
  readonly name: string;
  /** How this run of the suite differs from another of the same engine (`one thread`). */
  readonly variant?: string;
  /** The layout scheme the engine records in manifests. */
  readonly layoutScheme: string;
  open(spillDir: string): Promise<EngineSession>;
  /** A fresh scratch folder; removed by `cleanup`. */
  dir(): string;
  cleanup?(): Promise<void>;
}

/** 200 rows over 100 ad ids x 2 segments, split over three files (the third is never listed in a view). */
async function writeFixtures(dir: string): Promise<string[]> {
  const paths = [0, 1, 2].map((i) => join(dir, `events-${i}.parquet`));
  for (const [i, path] of paths.entries()) {
    await duck(
      `COPY (SELECT (i // 2)::INTEGER AS ad_id, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS seg, (i // 2)::BIGINT AS n, (i / 8.0)::DOUBLE AS bid
             FROM range(${i * 100}, ${(i + 1) * 100}) t(i)) TO ${lit(path)} (FORMAT parquet)`,
    );
  }
  return paths;
}

const PARTITION = parsePartition('2023-10-12T09', 'hour');

/** An input of the fixture files, as the catalog resolves one. */
function input(name: string, paths: readonly string[]): ResolvedInput {
  return {
    dataset: { name, root: '/nowhere', grain: 'hour' },
    partitions: [PARTITION.id],
    files: paths.map((absPath) => ({ path: absPath, absPath, size: 1, mtimeMs: 1 })),
    fingerprint: 'fp',
  } as unknown as ResolvedInput;
}

/** What every Engine implementation must do for recount's guarantees; run on DuckDB and on Spark. */
export function engineContract(factory: EngineFactory): void {
  describe(`Engine contract: ${factory.name}${factory.variant ? ` (${factory.variant})` : ''}`, () => {
    let session: EngineSession;
    let dir: string;
    let fixtures: string[];
    const AGG =
      'SELECT ad_id, seg, sum(n) AS total, count(*) AS events, sum(bid) AS bid FROM events GROUP BY ad_id, seg';

    beforeAll(async () => {
      dir = factory.dir();
      fixtures = await writeFixtures(dir);
      session = await factory.open(join(dir, 'spill'));
      await session.createParquetView('events', fixtures.slice(0, 2));
      await session.setPartitionVariables(PARTITION);
    }, 180_000);
    afterAll(async () => {
      session?.close();
      await factory.cleanup?.();
    });

    it('names its engine, version and layout scheme for the manifest', () => {
      expect(session.engine).toBe(factory.name);
      expect(session.version).toMatch(/\d+\.\d+/);
      expect(session.layoutScheme).toBe(factory.layoutScheme);
    });

    it('a view over exact files reads those files and no other file beside them', async () => {
      const [row] = await session.query<{ c: string | number; m: string | number }>(
        'SELECT count(*) AS c, max(ad_id) AS m FROM events',
      );
      expect(Number(row!.c)).toBe(200);
      expect(Number(row!.m)).toBe(99);
      await session.createParquetView('one_file', [fixtures[2]!]);
      const [only] = await session.query<{ c: string | number; lo: string | number }>(
        'SELECT count(*) AS c, min(ad_id) AS lo FROM one_file',
      );
      expect([Number(only!.c), Number(only!.lo)]).toEqual([100, 100]);
    });

    it('runs SQL and returns JSON-safe rows (big integers as strings)', async () => {
      const rows = await session.query<{ ad_id: number; seg: string; total: string; events: string }>(
        `${AGG} ORDER BY ad_id, seg LIMIT 3`,
      );
      expect(rows.map((r) => [Number(r.ad_id), r.seg, Number(r.total), Number(r.events)])).toEqual([
        [0, 'a', 0, 1],
        [0, 'b', 0, 1],
        [1, 'a', 1, 1],
      ]);
      expect(typeof rows[0]!.total).toBe('string');
    });

    it('describes a query and a Parquet file without running the query', async () => {
      const cols = await session.describe(AGG);
      expect(cols.map((c) => c.name)).toEqual(['ad_id', 'seg', 'total', 'events', 'bid']);
      expect(cols.map((c) => isFloatType(c.type))).toEqual([false, false, false, false, true]);
      const file = await session.parquetSchema(fixtures[0]!);
      expect(file.map((c) => c.name)).toEqual(['ad_id', 'seg', 'n', 'bid']);
    });

    it('reads the partition variables', async () => {
      const [row] = await session.query<{ id: string }>(
        `SELECT ${session.dialect.lit('x')} AS x, ${partitionIdSql(session)} AS id`,
      );
      expect(row!.id).toBe(PARTITION.id);
    });

    it('writes the output bucketed by key into N stable files, sorted by key, every key in its bucket and every bucket a file', async () => {
      const out = join(dir, 'layout-8');
      mkdirSync(out, { recursive: true });
      // 3 keys over 8 buckets: most buckets are empty and still get their file.
      const written = await session.writeLayout({
        sql: `${AGG} HAVING ad_id < 2 OR (ad_id = 2 AND seg = 'a')`,
        keys: ['ad_id', 'seg'],
        files: 8,
        dir: out,
        smallInput: true,
      });
      expect(written.fileCount).toBe(8);
      expect(written.files.map((f) => f.name)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => partFileName(i)));
      expect(
        readdirSync(out)
          .filter((f) => f.endsWith('.parquet'))
          .sort(),
      ).toEqual(written.files.map((f) => f.name));
      expect(written.files.reduce((s, f) => s + f.rows, 0)).toBe(5);

      const out4 = join(dir, 'layout-4');
      mkdirSync(out4, { recursive: true });
      const four = await session.writeLayout({
        sql: AGG,
        keys: ['ad_id', 'seg'],
        files: 4,
        dir: out4,
        smallInput: true,
      });
      expect(four.files.reduce((s, f) => s + f.rows, 0)).toBe(200);
      const d = session.dialect;
      const paths = four.files.map((f) => join(out4, f.name));
      const [row] = await session.query<Record<string, string | number>>(
        `SELECT count(*) AS c, count(*) FILTER (WHERE ${d.bucketOf(['ad_id', 'seg'], 4)} <> __file_index) AS misplaced FROM (${d.stagedRows(paths)}) s`,
      );
      expect([Number(row!.c), Number(row!.misplaced)]).toEqual([200, 0]);
      // The rows each file claims are the rows it holds.
      for (const f of four.files) {
        const [n] = await session.query<{ c: string | number }>(`SELECT (${d.fileRowsSql([join(out4, f.name)])}) AS c`);
        expect(Number(n!.c), f.name).toBe(f.rows);
      }
      // A rerun puts every key in the same file.
      const again = join(dir, 'layout-4-again');
      mkdirSync(again, { recursive: true });
      const rerun = await session.writeLayout({
        sql: AGG,
        keys: ['ad_id', 'seg'],
        files: 4,
        dir: again,
        smallInput: true,
      });
      expect(rerun.files).toEqual(four.files);
    });

    it('passes the built-in checks on its own layout, with its own hash, and finds a file in the wrong place', async () => {
      const out = join(dir, 'checked');
      mkdirSync(out, { recursive: true });
      const written = await session.writeLayout({
        sql: AGG,
        keys: ['ad_id', 'seg'],
        files: 3,
        dir: out,
        smallInput: true,
      });
      const checks = [{ name: 'positive', sql: 'SELECT * FROM output WHERE events <= 0', severity: 'error' as const }];
      const ok = await runChecks({ session, dir: out, files: written.files, keys: ['ad_id', 'seg'], checks });
      expect(ok.map((c) => [c.name, c.passed, c.failing])).toEqual([
        ['row_count', true, 0],
        ['unique_keys', true, 0],
        ['not_null_keys', true, 0],
        ['key_layout', true, 0],
        ['positive', true, 0],
      ]);
      // Swap two files: every row of both is now in the wrong file.
      renameSync(join(out, partFileName(0)), join(out, 'tmp.parquet'));
      renameSync(join(out, partFileName(1)), join(out, partFileName(0)));
      renameSync(join(out, 'tmp.parquet'), join(out, partFileName(1)));
      const swapped = [
        { name: partFileName(0), rows: written.files[1]!.rows },
        { name: partFileName(1), rows: written.files[0]!.rows },
        written.files[2]!,
      ];
      const bad = await runChecks({ session, dir: out, files: swapped, keys: ['ad_id', 'seg'], checks: [] });
      const layout = bad.find((c) => c.name === 'key_layout')!;
      expect(layout.passed).toBe(false);
      expect(layout.failing).toBe(written.files[0]!.rows + written.files[1]!.rows);
      expect(layout.sample[0]).toHaveProperty('expected_file_index');
    });

    it('names the first bad input file in file order, however many footers are read at once', async () => {
      const bad = join(dir, 'bad-inputs');
      mkdirSync(bad, { recursive: true });
      const corrupt = [join(bad, 'corrupt-1.parquet'), join(bad, 'corrupt-2.parquet')];
      for (const c of corrupt) writeFileSync(c, 'PAR1 not really parquet');
      const retyped = join(bad, 'retyped.parquet');
      await duck(`COPY (SELECT 'seven' AS ad_id, 'a' AS seg) TO ${lit(retyped)} (FORMAT parquet)`);
      const [a, b, c] = fixtures;
      const failure = (paths: string[]) =>
        checkInputFiles(session, input('events', paths)).then(
          () => undefined,
          (e: unknown) => e as RecountError,
        );
      const first = await failure([a!, b!, corrupt[0]!, c!, corrupt[1]!, a!, b!, c!, a!, b!]);
      expect([first?.code, first?.subject]).toEqual(['INPUT_CORRUPT', corrupt[0]]);
      const changed = await failure([a!, b!, retyped, corrupt[1]!]);
      expect(changed?.code).toBe('INPUT_SCHEMA_CHANGED');
      expect(changed?.subject).toBe(`${retyped}: ad_id`);
      // All good: the first file's columns, whatever order the footers came back in.
      const ok = await checkInputFiles(session, input('events', [c!, a!, b!, c!, a!, b!, c!, a!, b!, c!]));
      expect(ok.schema.map((col) => col.name)).toEqual(['ad_id', 'seg', 'n', 'bid']);
    });

    it('turns a corrupt input file, invalid SQL and a missing column into typed errors', async () => {
      const corrupt = join(dir, 'corrupt.parquet');
      writeFileSync(corrupt, 'PAR1 not really parquet');
      const err = await checkInputFiles(session, input('events', [corrupt])).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RecountError);
      expect((err as RecountError).code).toBe('INPUT_CORRUPT');
      expect((err as RecountError).subject).toBe(corrupt);

      const checked = await checkInputFiles(session, input('events', fixtures.slice(0, 2)));
      const invalid = await session.describe('SELEC ad_id FROM events').then(
        () => undefined,
        (e: unknown) => explainQueryError(e, 'analyzers/a.ts', PARTITION, [checked]),
      );
      expect(invalid?.code).toBe('SQL_INVALID');
      const missing = await session.describe('SELECT no_such_column FROM events').then(
        () => undefined,
        (e: unknown) => explainQueryError(e, 'analyzers/a.ts', PARTITION, [checked]),
      );
      expect(missing?.code).toBe('INPUT_MISSING_COLUMN');
      expect(missing?.subject).toBe('analyzers/a.ts: no_such_column');

      const out = join(dir, 'failed-write');
      mkdirSync(out, { recursive: true });
      const failed = await session
        .writeLayout({
          sql: 'SELECT no_such_column FROM events',
          keys: ['no_such_column'],
          files: 2,
          dir: out,
          smallInput: true,
        })
        .then(
          () => undefined,
          (e: unknown) => explainQueryError(e, 'analyzers/a.ts', PARTITION, [checked]),
        );
      expect(failed?.code).toBe('INPUT_MISSING_COLUMN');
      expect(existsSync(join(out, partFileName(0)))).toBe(false);
    });
  });
}

/** How the analyzer's SQL reads the partition id on this engine. */
function partitionIdSql(session: EngineSession): string {
  return session.engine === 'duckdb' ? "getvariable('partition_id')" : 'partition_id';
}

/** Remove a scratch folder. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
