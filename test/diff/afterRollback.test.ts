import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRuns } from '../helpers/publish.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// A bare `recount diff` compares what readers saw before with what they see now (U5): normally the version
// published before the current one; after a rollback, the version rolled back from — also when the version
// rolled back to is the oldest one kept, where "the kept version before it" does not exist.

const H = 'ad_impressions_hourly';
const [T00, T01] = ['2023-10-12T00', '2023-10-12T01'];

describe('diff after a rollback', () => {
  let tp: TestProject;
  beforeAll(async () => {
    tp = await makeProject({ hours: 2, rowsPerHour: 1000 });
    await publishRuns(tp, [
      [H, T00],
      [H, T00],
      [H, T01],
      [H, T01],
      [H, T01],
    ]);
  });
  afterAll(() => tp.cleanup());

  it('without a rollback: the version published before the published one', () => {
    const r = tp.cli(['--json', 'diff', H, '--partition', T01]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect([r.json.versions, r.json.basis]).toEqual([{ from: 2, to: 3 }, 'previously-published']);
  });

  it('rolled back to the oldest kept version: compares the version rolled back from with it, and says so', () => {
    expect(tp.cli(['rollback', H, '--partition', T00, '--version', '1']).code).toBe(0);
    const r = tp.cli(['--json', 'diff', H, '--partition', T00]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect([r.json.versions, r.json.basis]).toEqual([{ from: 2, to: 1 }, 'previously-published']);
    const text = tp.cli(['diff', H, '--partition', T00]);
    expect(text.stdout).toContain(`${H} ${T00}: v2 -> v1 (v2 was published before v1: the version rolled back from)`);
  });

  it('rolled back past a middle version: compares the version rolled back from, not the one kept before', () => {
    expect(tp.cli(['rollback', H, '--partition', T01, '--version', '2']).code).toBe(0);
    expect(tp.cli(['--json', 'diff', H, '--partition', T01]).json.versions).toEqual({ from: 3, to: 2 });
    // Naming --to keeps the older meaning: the newest kept version before it.
    const named = tp.cli(['--json', 'diff', H, '--partition', T01, '--to', '2']);
    expect([named.json.versions, named.json.basis]).toEqual([{ from: 1, to: 2 }, 'kept-before']);
  });

  it('--to the oldest kept version, with nothing before it: says what to pass', () => {
    const r = tp.cli(['--json', 'diff', H, '--partition', T01, '--to', '1']);
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({
      code: 'VERSION_NOT_FOUND',
      message: expect.stringContaining('no other kept version to compare v1 with'),
      hint: expect.stringContaining('--from V --to V'),
    });
  });
});
