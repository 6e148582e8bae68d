import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { byHand, EMBEDDED } from './projectWarehouse.ts';

const A = 'ad_impressions_hourly';
const D = 'ad_impressions_daily';
const [P0, P1, P2] = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02'];

// The cells of one column of a cli-table3 table, line by line (a wrapped cell spans several lines).
function column(text: string, index: number): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) => l.split('│')[index + 1]!.trim());
}

// What people read on the embedded warehouse: where each load went, whole errors, accurate wording.
describe('warehouse output of run, backfill, load and monitor', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 3, rowsPerHour: 2000 });
  });
  afterAll(() => tp?.cleanup());

  it('run and backfill say where the load went (table, warehouse, version, rows); run --json carries the load', async () => {
    const warehouse = `duckdb:${join(tp.dir, '.recount/warehouse.duckdb')}`;
    const text = tp.cli(['run', A, '--partition', P0]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`loaded into ${A} \\(${warehouse.replace(/[.]/g, '\\.')}\\): v1, [\\d,]+ rows`),
    );
    const json = tp.cli(['--json', 'run', A, '--partition', P1]);
    expect(json.json.load).toMatchObject({
      status: 'loaded',
      table: A,
      warehouse,
      version: 1,
      rows: json.json.rows,
      partition: P1,
    });
    const backfill = tp.cli(['backfill', A, '--from', P0, '--to', P2, '--force']);
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toMatch(new RegExp(`loaded into ${A} \\(.*\\): 3 partition\\(s\\), [\\d,]+ rows`));
    expect(backfill.stdout).toContain('(replaced v1)');
  });

  it('the failure table of recount load shows the whole error, wrapped, never cut', async () => {
    await byHand(EMBEDDED, tp.dir, `ALTER TABLE ${A} ALTER impression_count TYPE VARCHAR`);
    try {
      const json = tp.cli(['--json', 'load', A, '--partition', P0, '--force']);
      const error = json.json.loads[0].error as { code: string; message: string };
      expect(error.message.length).toBeGreaterThan(100);
      const text = tp.cli(['load', A, '--partition', P0, '--force']);
      expect(text.code).toBe(1);
      const cells = column(text.stdout, 4).slice(1).join(' ');
      expect(cells.replace(/\s+/g, '')).toBe(`[${error.code}] ${error.message}`.replace(/\s+/g, ''));
    } finally {
      await byHand(EMBEDDED, tp.dir, `ALTER TABLE ${A} ALTER impression_count TYPE BIGINT`);
    }
  });

  it('load with nothing owed says what it compared and how rows changed by hand are repaired', () => {
    const r = tp.cli(['load', A]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('recount_loads records the published version of every partition');
    expect(r.stdout).toContain('recount monitor');
    expect(r.stdout).toContain('--force');
  });

  it('monitor of an analyzer without a load table says so, naming the analyzers that have one', () => {
    const file = join(tp.dir, 'analyzers', `${D}.ts`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^\s*load: \{[^}]*\},?\n/m, ''));
    const r = tp.cli(['monitor', D]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `analyzer ${D} has no load table, so there is nothing to check; analyzers with one: ${A}`,
    );
    expect(r.stdout).not.toContain('no analyzer has a load table');
  });
});
