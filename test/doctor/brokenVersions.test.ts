import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { OutputLayout } from '../../src/commit/paths.ts';
import { runPartition } from '../../src/run/runPartition.ts';
import type { Finding } from '../../src/doctor/finding.ts';
import { bucketFile, makeProject, readPublished, type TestProject } from '../helpers/project.ts';

// Files deleted under recount's feet: doctor reports each broken thing once, and the commands its hint
// gives really repair it (B3, B4). The hints are run here as written.

const H = 'ad_impressions_hourly';
const [T00, T01, T02] = ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02'];

/** The commands a hint quotes, in order: `'recount …'`. */
const commandsOf = (hint: string) => [...hint.matchAll(/'recount ([^']+)'/g)].map((m) => m[1]!.split(' '));

describe('doctor on versions whose files are gone, and the repairs it names', () => {
  let tp: TestProject;
  let layout: OutputLayout;
  const dir = new Map<string, string>();
  beforeAll(async () => {
    tp = await makeProject({ hours: 3, rowsPerHour: 1000 });
    const ctx = await tp.open();
    try {
      layout = new OutputLayout(ctx.project.outputRoot);
      const a = ctx.project.analyzers.get(H)!;
      for (const p of [T00, T00, T01, T01, T02]) expect((await runPartition(ctx, a, p)).status).toBe('succeeded');
      for (const p of [T00, T01])
        for (const seq of [1, 2]) dir.set(`${p} v${seq}`, (await ctx.store.getVersion(H, p, seq))!.dir);
    } finally {
      await ctx.close();
    }
  });
  afterAll(() => tp.cleanup());

  const doctor = (): Finding[] => {
    const r = tp.cli(['--json', 'doctor', '--min-free', '1B']);
    expect(r.json, r.stderr).toBeDefined();
    return (r.json.findings as Finding[]).filter((f) => f.status === 'problem' || f.status === 'warning');
  };
  const run = (args: string[]) => {
    const r = tp.cli(args);
    expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
    return r;
  };

  it('a kept version with a file deleted: one finding, plain gc does not clear it, the hint (gc --broken) does', () => {
    const gone = bucketFile(dir.get(`${T00} v1`)!, 2);
    rmSync(join(dir.get(`${T00} v1`)!, gone));
    const [f, ...more] = doctor();
    expect(more).toEqual([]);
    expect(f).toMatchObject({
      check: 'version-files-missing',
      subject: `${H} ${T00} v1`,
      message: expect.stringContaining(gone),
    });
    // What the old hint said ('recount gc') leaves it there: it is within the K kept versions.
    run(['gc']);
    expect(doctor().map((x) => x.subject)).toEqual([`${H} ${T00} v1`]);
    const cmds = commandsOf(f!.hint!);
    expect(cmds).toEqual([['gc', '--broken']]);
    const gc = run(['--json', ...cmds[0]!]);
    expect(gc.json.removed).toEqual([
      expect.objectContaining({ kind: 'version', version: 1, reason: expect.stringContaining('cannot be read') }),
    ]);
    expect(doctor()).toEqual([]);
    // The readable kept version stays a rollback target.
    expect(run(['--json', 'rollback', H, '--partition', T00, '--version', '2']).json).toMatchObject({
      ok: true,
      to: 2,
    });
  });

  it('a published version whose folder is gone: one finding (not a second about its link), and its hint repairs it', async () => {
    rmSync(dir.get(`${T01} v2`)!, { recursive: true });
    const found = doctor();
    expect(found.map((x) => [x.check, x.subject])).toEqual([['version-files-missing', `${H} ${T01} v2`]]);
    expect(found[0]!.message).toContain('published version');
    expect(found[0]!.hint).toContain('see nothing (its link dangles)');
    const cmds = commandsOf(found[0]!.hint!);
    expect(cmds).toEqual([
      ['run', H, '--partition', T01],
      ['rollback', H, '--partition', T01, '--version', '1'],
      ['gc', '--broken'],
    ]);
    run(cmds[0]!);
    run(cmds[2]!);
    expect(doctor()).toEqual([]);
    expect((await readPublished(layout.publishedPath(H, T01), ['ad_id', 'user_segment'])).length).toBeGreaterThan(0);
  });

  it('a published link that was removed: one finding saying so, and its hint makes the link again', async () => {
    const link = layout.publishedPath(H, T02);
    rmSync(link);
    const found = doctor();
    expect(found.map((x) => [x.check, x.subject])).toEqual([['published-link', link]]);
    expect(found[0]!.message).toBe(`the published path ${link} is missing, but the state store says v1 is published`);
    const cmds = commandsOf(found[0]!.hint!);
    expect(cmds).toEqual([['run', H, '--partition', T02]]);
    run(cmds[0]!);
    expect(doctor()).toEqual([]);
    expect((await readPublished(link, ['ad_id', 'user_segment'])).length).toBeGreaterThan(0);
  });
});
