import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realpathSync, rmSync } from 'node:fs';
import { join, sep } from 'node:path';
import { duck, makeProject, type TestProject } from '../helpers/project.ts';

// `recount files <analyzer> --partition ID`: the exact files of the published version, resolved once.
const H = 'ad_impressions_hourly';
const P = '2023-10-12T00';

describe('recount files', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 1, rowsPerHour: 3000 });
    const r = tp.cli(['run', H, '--partition', P]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);
  afterAll(() => tp?.cleanup());

  it("prints the real paths of the published version's files, one a line, and the same with --json", () => {
    const text = tp.cli(['files', H, '--partition', P]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    const versionDir = realpathSync(join(tp.dir, 'data/out', H, 'dt=2023-10-12/hour=00'));
    expect(versionDir).toContain(`${sep}.recount${sep}versions${sep}${H}${sep}${P}${sep}v000001`);
    expect(lines).toHaveLength(4);
    for (const [i, l] of lines.entries())
      expect(l).toMatch(
        new RegExp(`^${versionDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/part-0000${i}-[a-z0-9]+\\.parquet$`),
      );

    const json = tp.cli(['--json', 'files', H, '--partition', P]);
    expect(json.code).toBe(0);
    expect(json.json).toMatchObject({ ok: true, analyzer: H, partition: P, version: 1, dir: versionDir });
    expect(json.json.files.map((f: { path: string }) => f.path)).toEqual(lines);
    expect(json.json.files.reduce((s: number, f: { rows: number }) => s + f.rows, 0)).toBe(json.json.rows);
  });

  it('--view prints a DuckDB view over exactly those files, which reads the whole version', async () => {
    const r = tp.cli(['files', H, '--partition', P, '--view']);
    expect(r.code, r.stderr).toBe(0);
    const files = tp.cli(['--json', 'files', H, '--partition', P]).json;
    expect(r.stdout.trim()).toMatch(
      new RegExp(
        `^CREATE OR REPLACE VIEW "${H}" AS SELECT \\* FROM read_parquet\\(\\[.*\\], hive_partitioning = false\\);$`,
      ),
    );
    for (const f of files.files) expect(r.stdout).toContain(`'${f.path}'`);
    const [n] = await duck<{ n: string }>(`${r.stdout.trim()} SELECT count(*)::VARCHAR AS n FROM "${H}"`);
    expect(Number(n!.n)).toBe(files.rows);
    const named = tp.cli(['files', H, '--partition', P, '--view', 'hourly_00']);
    expect(named.stdout).toMatch(/^CREATE OR REPLACE VIEW "hourly_00" AS/);
  });

  it('typed errors: unknown analyzer, malformed partition id (exit 2), nothing published (exit 2), each with a hint', () => {
    const unknown = tp.cli(['--json', 'files', 'nope', '--partition', P]);
    expect(unknown.code).toBe(2);
    expect(unknown.json.error).toMatchObject({
      code: 'ANALYZER_UNKNOWN',
      subject: 'nope',
      hint: expect.stringContaining(H),
    });
    const bad = tp.cli(['--json', 'files', H, '--partition', '2023-10-12T99']);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('PARTITION_INVALID');
    const none = tp.cli(['--json', 'files', H, '--partition', '2023-10-13T05']);
    expect(none.code).toBe(2);
    expect(none.json.error).toMatchObject({
      code: 'VERSION_NOT_FOUND',
      hint: `run it first: recount run ${H} --partition 2023-10-13T05`,
    });
    expect(none.json.error.message).toContain('nothing is published');
    const text = tp.cli(['files', H, '--partition', '2023-10-13T05']);
    expect(text.stderr).toContain('error [VERSION_NOT_FOUND]');
    expect(text.stderr).toContain('hint:');
  });

  it('a published version with a file deleted by hand: VERSION_FILES_MISSING naming it (exit 1), not a list a reader would fail on', () => {
    const files = tp.cli(['--json', 'files', H, '--partition', P]).json.files.map((f: { path: string }) => f.path);
    rmSync(files[2]);
    const r = tp.cli(['--json', 'files', H, '--partition', P]);
    expect(r.code).toBe(1);
    expect(r.json.error).toMatchObject({
      code: 'VERSION_FILES_MISSING',
      subject: files[2],
      hint: expect.stringContaining('recount doctor'),
    });
  });
});
