import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, makeProject, type TestProject } from '../helpers/project.ts';

// A folder recount must write that belongs to another user (a restored backup, a deploy as another account).
// The CLI is run as `nobody` through setpriv, which needs root (as CI runs). Where that is impossible the tests
// fail, naming why, rather than skip: a suite that passes without running proves nothing.
const NOBODY = 65534;
const P = '2023-10-12T00';

/** Why these tests cannot run here, or undefined if they can. */
function cannotRun(): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return 'no POSIX user ids on this platform (process.getuid is missing)';
  if (uid !== 0)
    return `not root (uid ${uid}): changing a folder's owner and running the CLI as nobody (uid ${NOBODY}) needs root`;
  const probe = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', ''],
    { encoding: 'utf8' },
  );
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    return 'setpriv is missing (util-linux): it runs the CLI as nobody';
  if (probe.status !== 0)
    return `setpriv cannot run node as nobody (uid ${NOBODY}): exit ${probe.status ?? probe.signal}: ${(probe.stderr || String(probe.error ?? '')).trim()}`;
  return undefined;
}

describe('a version folder recount may not write', () => {
  let tp: TestProject;
  const versions = () => join(tp.dir, 'data/out/.recount/versions/counts', P);
  const link = () => join(tp.dir, 'data/out/counts/dt=2023-10-12/hour=00');
  const asNobody = (args: string[]) => {
    const r = spawnSync(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, '--project', tp.dir, ...args],
      {
        encoding: 'utf8',
        env: { ...process.env, HOME: tp.dir, NO_COLOR: '1' },
        timeout: 120_000,
      },
    );
    let json: any;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
  };

  beforeAll(async () => {
    const why = cannotRun();
    if (why) throw new Error(`the permission tests cannot run here: ${why}`);
    tp = await makeProject({
      examples: false,
      hours: 1,
      rowsPerHour: 500,
      analyzers: {
        counts: `import { defineAnalyzer } from 'recount';\nexport default defineAnalyzer({ name: 'counts', inputs: ['events'], grain: 'hour', files: 1, sql: 'SELECT ad_id, count(*)::BIGINT AS n FROM events GROUP BY ad_id' });`,
      },
    });
    expect(tp.cli(['run', 'counts', '--partition', P]).code).toBe(0);
    // The whole project is nobody's, but for the partition's versions folder, which stays root's.
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, tp.dir]);
    chownSync(versions(), 0, 0);
    chmodSync(versions(), 0o755);
    chmodSync(tp.dir, 0o755);
  });
  afterAll(() => tp?.cleanup());

  it('a run fails with OUTPUT_NOT_WRITABLE naming the folder, exit 1, and v1 stays published', () => {
    const before = readlinkSync(link());
    const r = asNobody(['--json', 'run', 'counts', '--partition', P]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.error.code).toBe('OUTPUT_NOT_WRITABLE');
    expect(r.json.error.subject).toContain(versions());
    expect(r.json.error.hint).toMatch(/write access/);
    expect(readlinkSync(link())).toBe(before);
  });

  it('status still answers, warning that recovery could not finish; once fixed, the next command completes it', () => {
    const r = asNobody(['--json', 'status', 'counts']);
    // It answers (exit 1: the partition's latest attempt failed), where before every command died in recovery.
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.stderr).toMatch(/recovery of interrupted work could not finish: \[OUTPUT_NOT_WRITABLE\]/);
    expect(r.json.partitions[0]).toMatchObject({ partition: P, publishedVersion: 1 });

    chownSync(versions(), NOBODY, NOBODY);
    const fixed = asNobody(['--json', 'recover']);
    expect(fixed.code, fixed.stderr).toBe(0);
    // The publish was claimed before the rename failed: recovery rolls it forward (the intent is the commit point).
    expect(fixed.json.rolledForward).toEqual([`counts ${P} v2`]);
    expect(readlinkSync(link())).toMatch(/v000002$/);
  });
});
