import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readPublished, REPO, runCli, tempDir, type CliResult } from '../helpers/project.ts';

// The CLI as a user drives it: a project from `init`, events from `gen`, then run, status, rollback,
// backfill, recover and demo, checking output, exit codes and that --json always parses.

const H = 'ad_impressions_hourly';
const root = tempDir('recount-cli-');
const dir = join(root, 'proj');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cli = (...args: string[]): CliResult => runCli(['--project', dir, ...args]);
const ok = (r: CliResult): CliResult => {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};
const hourDir = (events: string, h: string) => join(dir, events, `dt=2023-10-12/hour=${h}`);
const published = (h: string) => join(dir, `data/out/${H}/dt=2023-10-12/hour=${h}`);

describe('recount init', () => {
  it('creates the documented project files', () => {
    const r = ok(runCli(['init', dir]));
    for (const f of [
      'recount.config.ts',
      'analyzers/ad_impressions_hourly.ts',
      'analyzers/ad_impressions_daily.ts',
      'package.json',
      '.gitignore',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
      expect(r.stdout).toContain(f);
    }
    const config = readFileSync(join(dir, 'recount.config.ts'), 'utf8');
    expect(config).toMatch(/events: \{ root: 'data\/events', grain: 'hour' \}/);
    expect(config).toContain("output: 'data/out'");
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ type: 'module', devDependencies: { recount: `file:${REPO.replace(/\/$/, '')}` } });
    expect(r.stdout).toContain('npx recount gen events');
    expect(r.stdout).toContain('npx recount serve');
  });

  it('npm install in the new project links recount, so npx recount runs there (no registry)', () => {
    const scratch = join(root, 'linked');
    ok(runCli(['init', scratch]));
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--offline'], {
      cwd: scratch,
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).toBe(0);
    const version = spawnSync('npx', ['--no-install', 'recount', '--version'], { cwd: scratch, encoding: 'utf8' });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('refuses to overwrite an existing project (exit 2), leaving its files alone', () => {
    writeFileSync(
      join(dir, 'analyzers/ad_impressions_daily.ts'),
      readFileSync(join(dir, 'analyzers/ad_impressions_daily.ts'), 'utf8') + '// mine\n',
    );
    const r = runCli(['--json', 'init', dir]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
    expect(r.json.error.message).toContain('already has a recount.config.ts');
    expect(readFileSync(join(dir, 'analyzers/ad_impressions_daily.ts'), 'utf8')).toContain('// mine');
  });
});

describe('recount gen events', () => {
  beforeAll(() => {
    const r = ok(
      cli(
        '--json',
        'gen',
        'events',
        '--out',
        'data/events',
        '--hours',
        '3',
        '--rows-per-hour',
        '1500',
        '--seed',
        '5',
        '--ads',
        '100',
      ),
    );
    expect(r.json).toMatchObject({
      ok: true,
      rows: 4500,
      partitions: ['2023-10-12T00', '2023-10-12T01', '2023-10-12T02'],
    });
  });

  it('is deterministic: the same seed writes byte-identical files, another seed different ones', () => {
    ok(
      cli(
        'gen',
        'events',
        '--out',
        'data/events-same',
        '--hours',
        '3',
        '--rows-per-hour',
        '1500',
        '--seed',
        '5',
        '--ads',
        '100',
      ),
    );
    const r = ok(
      cli(
        'gen',
        'events',
        '--out',
        'data/events-other',
        '--hours',
        '1',
        '--rows-per-hour',
        '1500',
        '--seed',
        '6',
        '--ads',
        '100',
      ),
    );
    expect(r.stdout).toMatch(/wrote 1500 events in 1 hourly partitions/);
    for (const h of ['00', '01', '02']) {
      expect(
        readFileSync(join(hourDir('data/events-same', h), 'part-00000.parquet')).equals(
          readFileSync(join(hourDir('data/events', h), 'part-00000.parquet')),
        ),
      ).toBe(true);
      expect(existsSync(join(hourDir('data/events', h), '_SUCCESS'))).toBe(true);
    }
    expect(
      readFileSync(join(hourDir('data/events-other', '00'), 'part-00000.parquet')).equals(
        readFileSync(join(hourDir('data/events', '00'), 'part-00000.parquet')),
      ),
    ).toBe(false);
  });
});

describe('run, status and rollback', () => {
  it('run publishes and says where (exit 0)', () => {
    const r = ok(cli('run', H, '--partition', '2023-10-12T00'));
    expect(r.stdout).toMatch(/✓ ad_impressions_hourly 2023-10-12T00: published v1 — \d+ rows in 4 file\(s\)/);
    expect(r.stdout).toContain(`published at ${published('00')}`);
  });

  it('run --json reports the attempt', () => {
    const r = ok(cli('run', H, '--partition', '2023-10-12T00', '--json'));
    expect(r.json).toMatchObject({
      ok: true,
      analyzer: H,
      partition: '2023-10-12T00',
      status: 'succeeded',
      version: 2,
      files: 4,
      keys: ['ad_id', 'user_segment'],
      publishedPath: published('00'),
    });
    expect(r.json.rows).toBeGreaterThan(0);
    expect(r.json.checks.map((c: { name: string }) => c.name)).toEqual([
      'row_count',
      'unique_keys',
      'not_null_keys',
      'key_layout',
      'positive_counts',
      'non_negative_bids',
    ]);
  });

  it('status shows every analyzer, one analyzer, and one partition', () => {
    const all = ok(cli('status', '--json'));
    expect(all.json.analyzers.map((a: { analyzer: string }) => a.analyzer).sort()).toEqual(['ad_impressions_daily', H]);
    expect(all.json.analyzers.find((a: { analyzer: string }) => a.analyzer === H)).toMatchObject({
      published: 1,
      failing: [],
      newestPublished: '2023-10-12T00',
    });

    const one = ok(cli('status', H));
    expect(one.stdout).toMatch(/2023-10-12T00.*v2.*succeeded/);

    const p = ok(cli('status', H, '--partition', '2023-10-12T00', '--json'));
    expect(p.json.publishedVersion).toBe(2);
    expect(p.json.versions.map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
      [2, 'published'],
      [1, 'retained'],
    ]);
    expect(p.json.attempts).toHaveLength(2);
    expect(
      p.json.loads.map((l: { version: number; status: string; table: string }) => [l.version, l.status, l.table]),
    ).toEqual([
      [2, 'loaded', H],
      [1, 'replaced', H],
    ]);
    expect(all.json.analyzers.find((a: { analyzer: string }) => a.analyzer === H)).toMatchObject({
      loadTable: H,
      loadsOwed: 0,
      loadsFailed: 0,
    });
    expect(p.json.lastChecks.every((c: { passed: boolean }) => c.passed)).toBe(true);
  });

  it('rollback switches the published link to the previous version, then to --version V; status follows', async () => {
    const r = ok(cli('rollback', H, '--partition', '2023-10-12T00'));
    expect(r.stdout).toContain('published v1 (was v2)');
    expect(readlinkSync(published('00'))).toMatch(/v000001$/);
    expect(JSON.parse(readFileSync(join(published('00'), '_manifest.json'), 'utf8')).version).toBe(1);

    const back = ok(cli('rollback', H, '--partition', '2023-10-12T00', '--version', '2', '--json'));
    expect(back.json).toMatchObject({ ok: true, analyzer: H, partition: '2023-10-12T00', from: 1, to: 2 });
    // The warehouse follows the rollback (I5): the table holds the version now published, and monitor agrees.
    expect(back.json.load).toMatchObject({ status: 'loaded', table: H });
    expect(cli('monitor', H, '--json').code).toBe(0);
    expect(readlinkSync(published('00'))).toMatch(/v000002$/);
    expect((await readPublished(published('00'), ['ad_id', 'user_segment'])).length).toBeGreaterThan(0);
    expect(ok(cli('status', H, '--partition', '2023-10-12T00', '--json')).json.publishedVersion).toBe(2);
  });

  it('rollback to a version that does not exist is exit 2 with the kept versions', () => {
    const r = cli('rollback', H, '--partition', '2023-10-12T00', '--version', '7', '--json');
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'VERSION_NOT_FOUND', hint: 'versions kept: v2 (published), v1' });
  });
});

describe('backfill', () => {
  const events01 = () => join(hourDir('data/events', '01'), 'part-00000.parquet');

  it('continues past a failed partition, reports it, exits 1; up-to-date partitions are skipped', () => {
    copyFileSync(events01(), join(root, 'hour01.bak'));
    writeFileSync(events01(), 'corrupt');
    const r = cli('backfill', H, '--from', '2023-10-12T00', '--to', '2023-10-12T02', '--json');
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, partitions: 3, succeeded: 1, failed: 1, skipped: ['2023-10-12T00'] });
    const byPartition = Object.fromEntries(r.json.results.map((x: { partition: string }) => [x.partition, x]));
    expect(byPartition['2023-10-12T01'].status).toBe('failed');
    expect(byPartition['2023-10-12T01'].error).toMatchObject({ code: 'INPUT_CORRUPT', subject: events01() });
    expect(byPartition['2023-10-12T02']).toMatchObject({ status: 'succeeded', version: 1 });
    expect(existsSync(published('01'))).toBe(false);
    expect(existsSync(join(published('02'), '_SUCCESS'))).toBe(true);

    const s = cli('status', '--json');
    expect(s.code).toBe(1);
    expect(s.json.analyzers.find((a: { analyzer: string }) => a.analyzer === H).failing).toEqual(['2023-10-12T01']);
  });

  it('after the input is fixed, a backfill runs only the partition that needs it (human output)', () => {
    copyFileSync(join(root, 'hour01.bak'), events01());
    const r = ok(cli('backfill', H, '--from', '2023-10-12T00', '--to', '2023-10-12T02'));
    expect(r.stdout).toMatch(/✓ ad_impressions_hourly 2023-10-12T01: published v1/);
    expect(r.stdout).toContain('3 partitions');
    expect(r.stdout).toContain('1 published, 2 already up to date, 0 failed');
  });

  it('--force reruns partitions that are up to date', () => {
    const r = ok(cli('backfill', H, '--from', '2023-10-12T00', '--to', '2023-10-12T02', '--force', '--json'));
    expect(r.json).toMatchObject({ ok: true, succeeded: 3, failed: 0, skipped: [] });
    expect(r.json.results.map((x: { version: number }) => x.version)).toEqual([3, 2, 2]);
  });

  it('a changed file count makes a partition out of date: backfill reruns it into the new layout without --force', () => {
    const file = join(dir, 'analyzers/ad_impressions_hourly.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('files: 4,', 'files: 3,'));
    try {
      const r = ok(cli('backfill', H, '--from', '2023-10-12T00', '--to', '2023-10-12T00', '--json'));
      expect(r.json).toMatchObject({ succeeded: 1, skipped: [] });
      expect(r.json.results[0].files).toBe(3);
      expect(ok(cli('backfill', H, '--from', '2023-10-12T00', '--to', '2023-10-12T00', '--json')).json.skipped).toEqual(
        ['2023-10-12T00'],
      );
    } finally {
      writeFileSync(file, original);
    }
    expect(ok(cli('backfill', H, '--from', '2023-10-12T00', '--to', '2023-10-12T00', '--json')).json).toMatchObject({
      succeeded: 1,
      skipped: [],
    });
  });

  it('a backfill failure shows a table of failed partitions and how to rerun one', () => {
    writeFileSync(events01(), 'corrupt again');
    try {
      const r = cli('backfill', H, '--from', '2023-10-12T01', '--to', '2023-10-12T01', '--force');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('0 published, 0 already up to date, 1 failed');
      expect(r.stdout).toMatch(/2023-10-12T01.*INPUT_CORRUPT/);
      expect(r.stdout).toContain(`recount run ${H} --partition <id>`);
      expect(readlinkSync(published('01'))).toMatch(/v000002$/);
    } finally {
      copyFileSync(join(root, 'hour01.bak'), events01());
    }
  });
});

describe('recover, help and usage errors', () => {
  it('recover --json reports nothing to do on a clean project', () => {
    const r = ok(cli('recover', '--json'));
    expect(r.json).toMatchObject({ ok: true, rolledForward: [], abandoned: [], crashedAttempts: [] });
  });

  it('--help lists every command; a command’s --help lists its options', () => {
    const r = ok(runCli(['--help']));
    for (const c of ['init', 'gen', 'run', 'backfill', 'status', 'rollback', 'recover', 'demo'])
      expect(r.stdout).toMatch(new RegExp(`\\n +${c}\\b`));
    expect(r.stdout).toContain('--project');
    expect(r.stdout).toContain('--json');
    const run = ok(runCli(['run', '--help']));
    expect(run.stdout).toContain('--partition <id>');
  });

  it('--version before a command prints recount’s version (after one it is the command’s own option)', () => {
    const r = ok(runCli(['--version']));
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('an unknown command or a missing required option is exit 2 with usage help', () => {
    const unknown = runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const missing = cli('run', H);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--partition <id>' not specified");
  });
});

describe('recount demo', () => {
  const demo = join(root, 'demo');

  it('generates a day, runs both analyzers and prints the summary and where the output is', () => {
    const r = ok(runCli(['demo', '--dir', demo, '--rows-per-hour', '150']));
    expect(r.stdout).toContain(`project: ${demo}`);
    expect(r.stdout).toContain('generated 3,600 events in 24 hourly partitions');
    expect(r.stdout).toMatch(/ad_impressions_hourly\s*│\s*24\s*│\s*24\s*│/);
    expect(r.stdout).toMatch(/ad_impressions_daily\s*│\s*1\s*│\s*1\s*│/);
    expect(r.stdout).toContain(join(demo, 'data/out/ad_impressions_hourly'));
    expect(r.stdout).toContain(join(demo, 'data/out/ad_impressions_daily'));
    expect(r.stdout).toContain('top ads of 2023-10-12');
    expect(existsSync(join(demo, 'data/out/ad_impressions_daily/dt=2023-10-12/_SUCCESS'))).toBe(true);
  });

  it('--json on a rerun of the demo', () => {
    const r = ok(runCli(['--json', 'demo', '--dir', demo, '--rows-per-hour', '150']));
    expect(r.json.ok).toBe(true);
    expect(r.json.summary.map((s: { analyzer: string; published: number }) => [s.analyzer, s.published])).toEqual([
      ['ad_impressions_hourly', 24],
      ['ad_impressions_daily', 1],
    ]);
    expect(r.json.topAds.length).toBeGreaterThan(0);
    expect(r.json.failures).toEqual([]);
  });
});
