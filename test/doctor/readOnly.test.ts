import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { publishRuns } from '../helpers/publish.ts';
import { makeProject, type TestProject } from '../helpers/project.ts';

// Commands that only look change nothing on disk (B5, B6): doctor, gc --dry-run, diff and shadow --list run
// no recovery and open the state store without creating, migrating or writing it. They say what recovery
// would do instead. A command that writes (gc) runs recovery first, as every such command does.

const H = 'ad_impressions_hourly';
const T00 = '2023-10-12T00';
const T01 = '2023-10-12T01';
const DAY = 86_400_000;

/**
 * Every path under a folder with what identifies its content: file hash and mtime, link target, or 'dir'.
 * A SQLite -shm file is left out: it is the shared-memory index in which every reader of a WAL database in
 * use records its read marks, not data, and it exists only while the -wal does.
 */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = relative(root, p);
      if (rel.endsWith('.db-shm')) continue;
      if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else out[rel] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${st.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

// Opened read-write on purpose: a read-only better-sqlite3 connection leaves -wal and -shm files behind.
const pendingIntents = (dir: string) => {
  const db = new Database(join(dir, '.recount/state.db'));
  try {
    return db
      .prepare("SELECT analyzer, partition_id, target_seq FROM publish_intents WHERE state = 'pending'")
      .all() as unknown[];
  } finally {
    db.close();
  }
};

describe('read-only commands', () => {
  let fresh: TestProject;
  let tp: TestProject;
  let stale: string;
  beforeAll(async () => {
    fresh = await makeProject({ hours: 1, rowsPerHour: 500 });
    tp = await makeProject({ hours: 2, rowsPerHour: 1000 });
    await publishRuns(tp, [
      [H, T00],
      [H, T00],
      [H, T01],
    ]);
    // A publish killed right after its claim, and staging three days old that nobody owns.
    expect(tp.cli(['run', H, '--partition', T01], { RECOUNT_FAULT: 'after-claim' }).signal).toBe('SIGKILL');
    stale = join(tp.dir, 'data/out/.recount/work/staging/stale-attempt');
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'part-00000.parquet'), 'left behind');
    utimesSync(stale, new Date(Date.now() - 3 * DAY), new Date(Date.now() - 3 * DAY));
  });
  afterAll(() => {
    fresh.cleanup();
    tp.cleanup();
  });

  it('doctor in a project where nothing has run creates no state store, no spill folder, nothing at all', () => {
    const before = tree(fresh.dir);
    const r = fresh.cli(['--json', 'doctor', '--min-free', '1B']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.findings).toContainEqual(
      expect.objectContaining({
        check: 'state-store',
        status: 'ok',
        message: expect.stringContaining('no state store yet'),
      }),
    );
    expect(existsSync(join(fresh.dir, '.recount'))).toBe(false);
    expect(tree(fresh.dir)).toEqual(before);
  });

  it('doctor, gc --dry-run, diff and shadow --list change nothing on disk, interrupted publish and stale staging included', () => {
    // The killed publish left the state file's -wal beside it: these commands read it in place, read-only.
    expect(existsSync(join(tp.dir, '.recount/state.db-wal'))).toBe(true);
    const before = tree(tp.dir);

    const doctor = tp.cli(['--json', 'doctor', '--min-free', '1B']);
    expect(doctor.code).toBe(1);
    expect(doctor.json.findings).toContainEqual(
      expect.objectContaining({
        check: 'recovery',
        status: 'info',
        message: expect.stringContaining(`recovery would finish interrupted publish: ${H} ${T01} v2`),
      }),
    );

    const dry = tp.cli(['--json', 'gc', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.recovery).toMatchObject({
      ran: false,
      rolledForward: [`${H} ${T01} v2`],
      removedStaging: ['stale-attempt'],
    });
    expect(dry.json.removed).toContainEqual(expect.objectContaining({ kind: 'staging', dir: stale }));
    expect(dry.json.protected).toContainEqual({
      analyzer: H,
      partition: T01,
      version: 2,
      why: expect.stringContaining('target of a pending publish'),
    });
    const dryText = tp.cli(['gc', '--dry-run']);
    expect(dryText.stdout).toContain(`recovery would finish interrupted publish: ${H} ${T01} v2`);
    expect(dryText.stdout).toContain(`would remove staging ${stale}`);

    const diff = tp.cli(['--json', 'diff', H, '--partition', T00]);
    expect(diff.json?.versions, diff.stdout + diff.stderr).toEqual({ from: 1, to: 2 });
    const diffPending = tp.cli(['diff', H, '--partition', T01, '--from', '1', '--to', '1']);
    expect(diffPending.stderr).toContain('an interrupted publish of v2 is pending');
    expect(tp.cli(['--json', 'shadow', '--list']).json).toEqual({ ok: true, shadows: [] });

    expect(tree(tp.dir)).toEqual(before);
    expect(pendingIntents(tp.dir)).toEqual([{ analyzer: H, partition_id: T01, target_seq: 2 }]);
  });

  it('gc without --dry-run runs recovery first and says what it did: the publish is finished, the stale staging removed', () => {
    const r = tp.cli(['gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`recovered interrupted publish: ${H} ${T01} v2`);
    expect(r.stdout).toContain('recovery removed 1 staging folder(s) no live attempt owned: stale-attempt');
    expect(existsSync(stale)).toBe(false);
    expect(pendingIntents(tp.dir)).toEqual([]);
    const clean = tp.cli(['--json', 'gc', '--dry-run']);
    expect(clean.json.recovery).toEqual({
      ran: false,
      rolledForward: [],
      abandoned: [],
      crashedAttempts: [],
      removedStaging: [],
      removedSpill: [],
    });
    // With nobody holding the state file open (no -wal beside it), reading it leaves no -wal or -shm behind.
    expect(existsSync(join(tp.dir, '.recount/state.db-wal'))).toBe(false);
    const before = tree(tp.dir);
    expect(tp.cli(['--json', 'doctor', '--min-free', '1B']).json.ok).toBe(true);
    expect(existsSync(join(tp.dir, '.recount/state.db-shm'))).toBe(false);
    expect(tree(tp.dir)).toEqual(before);
  });
});
