import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { expect } from 'vitest';
import type { Manifest } from '../../src/commit/manifest.ts';
import { OutputLayout } from '../../src/commit/paths.ts';
import { ident, lit } from '../../src/engine/sql.ts';
import type { StateStore } from '../../src/state/store.ts';
import { duck, runCli, tempDir, type TestProject } from './project.ts';

/**
 * Assertions every crash test makes over a project after a kill and after the retry that follows:
 * I1 (one complete version visible), I2 (same rows as a fault-free run), I4 (unique keys), no orphans.
 * They read the files the way an outside reader would and the state store directly, never through recount's own checks.
 */

/** What a reader finds at a partition's published path. */
export interface PublishedView {
  /** The published path (a symlink). */
  readonly path: string;
  /** The version folder it resolves to. */
  readonly dir: string;
  readonly version: number;
  readonly manifest: Manifest;
  /** Whether `_SUCCESS` is there yet (written right after the switch). */
  readonly success: boolean;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Rows per file as DuckDB reads them from the Parquet footers. */
async function footerRows(paths: string[]): Promise<Map<string, number>> {
  if (paths.length === 0) return new Map();
  const rows = await duck<{ file_name: string; num_rows: string | number }>(
    `SELECT file_name, num_rows FROM parquet_file_metadata([${paths.map(lit).join(', ')}])`,
  );
  return new Map(rows.map((r) => [r.file_name, Number(r.num_rows)]));
}

/**
 * Version folders are complete: each one's manifest lists exactly the Parquet files in it, each with the
 * listed size, sha256 and row count (from the Parquet footer), and the totals add up. Returns the manifests.
 */
export async function assertVersionsComplete(dirs: readonly string[]): Promise<Map<string, Manifest>> {
  const manifests = new Map<string, Manifest>();
  for (const dir of dirs) {
    const manifestPath = join(dir, '_manifest.json');
    expect(existsSync(manifestPath), `${dir} has no _manifest.json`).toBe(true);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    const onDisk = readdirSync(dir)
      .filter((f) => f.endsWith('.parquet'))
      .sort();
    expect(onDisk, `${dir}: the Parquet files on disk are exactly the manifest's`).toEqual(
      manifest.files.map((f) => f.path).sort(),
    );
    expect(
      manifest.files.reduce((s, f) => s + f.rows, 0),
      `${dir}: manifest rows`,
    ).toBe(manifest.rows);
    expect(
      manifest.files.reduce((s, f) => s + f.bytes, 0),
      `${dir}: manifest bytes`,
    ).toBe(manifest.bytes);
    expect(
      dir.endsWith(`v${String(manifest.version).padStart(6, '0')}`),
      `${dir}: folder named after manifest version ${manifest.version}`,
    ).toBe(true);
    manifests.set(dir, manifest);
  }
  // One reader for every footer: a DuckDB instance per folder would dominate the tests' time.
  const rows = await footerRows([...manifests].flatMap(([dir, m]) => m.files.map((f) => join(dir, f.path))));
  for (const [dir, m] of manifests) {
    for (const f of m.files) {
      const path = join(dir, f.path);
      expect(statSync(path).size, `${path}: size`).toBe(f.bytes);
      expect(sha256(path), `${path}: sha256`).toBe(f.sha256);
      expect(rows.get(path), `${path}: rows in the Parquet footer`).toBe(f.rows);
    }
  }
  return manifests;
}

/** One version folder is complete (see assertVersionsComplete). */
export async function assertVersionComplete(dir: string): Promise<Manifest> {
  return (await assertVersionsComplete([dir])).get(dir)!;
}

/**
 * I1 for partitions: each published path is absent (nothing ever published) or a symlink into
 * `.recount/versions` whose folder is one complete version of this analyzer and partition.
 */
export async function assertPublishedViews(
  outputRoot: string,
  analyzer: string,
  partitionIds: readonly string[],
): Promise<Map<string, PublishedView | undefined>> {
  const layout = new OutputLayout(outputRoot);
  const found = new Map<string, { path: string; dir: string }>();
  for (const id of partitionIds) {
    const path = layout.publishedPath(analyzer, id);
    let link: ReturnType<typeof lstatSync>;
    try {
      link = lstatSync(path);
    } catch {
      continue;
    }
    expect(link.isSymbolicLink(), `${path} is a recount published link`).toBe(true);
    const dir = realpathSync(path);
    expect(
      dir.startsWith(join(realpathSync(layout.versionsRoot), analyzer, id) + sep),
      `${path} -> ${dir} is a version folder of ${analyzer} ${id}`,
    ).toBe(true);
    found.set(id, { path, dir });
  }
  const manifests = await assertVersionsComplete([...found.values()].map((f) => f.dir));
  const views = new Map<string, PublishedView | undefined>();
  for (const id of partitionIds) {
    const f = found.get(id);
    if (!f) {
      views.set(id, undefined);
      continue;
    }
    const manifest = manifests.get(f.dir)!;
    expect([manifest.analyzer, manifest.partition]).toEqual([analyzer, id]);
    views.set(id, { ...f, version: manifest.version, manifest, success: existsSync(join(f.dir, '_SUCCESS')) });
  }
  return views;
}

/** I1 for one partition (see assertPublishedViews); undefined when nothing is published there. */
export async function assertPublishedComplete(
  outputRoot: string,
  analyzer: string,
  partitionId: string,
): Promise<PublishedView | undefined> {
  return (await assertPublishedViews(outputRoot, analyzer, [partitionId])).get(partitionId);
}

/** The published links under an analyzer's output folder, as partition ids (`2023-10-12T09` or `2023-10-12`). */
export function publishedPartitions(outputRoot: string, analyzer: string): string[] {
  const root = join(outputRoot, analyzer);
  if (!existsSync(root)) return [];
  const ids: string[] = [];
  for (const dt of readdirSync(root).filter((d) => d.startsWith('dt='))) {
    const day = dt.slice(3);
    const inner = readdirSync(join(root, dt)).filter((h) => h.startsWith('hour='));
    if (inner.length === 0) ids.push(day);
    for (const h of inner) ids.push(`${day}T${h.slice(5)}`);
  }
  return ids.sort();
}

/**
 * I1 as an outside reader sees it: a glob `<output>/<analyzer>/*\/*\/*.parquet` (hour grain; one level
 * less for day grain) matches exactly the files of the published manifests, with their row counts.
 */
export async function assertReaderSeesOnlyCommitted(
  outputRoot: string,
  analyzer: string,
  grain: 'hour' | 'day' = 'hour',
): Promise<void> {
  const expected = new Map<string, number>();
  for (const view of (
    await assertPublishedViews(outputRoot, analyzer, publishedPartitions(outputRoot, analyzer))
  ).values()) {
    for (const f of view!.manifest.files) expected.set(join(view!.path, f.path), f.rows);
  }
  const pattern = join(outputRoot, analyzer, grain === 'hour' ? '*/*/*.parquet' : '*/*.parquet');
  const globbed = (await duck<{ file: string }>(`SELECT file FROM glob(${lit(pattern)})`)).map((r) => r.file).sort();
  expect(globbed, `files a reader globbing ${pattern} sees`).toEqual([...expected.keys()].sort());
  // A glob over every analyzer at once: DuckDB's * matches dot-folders, so recount's own folder must sit deeper.
  const wide = join(outputRoot, grain === 'hour' ? '*/*/*/*.parquet' : '*/*/*.parquet');
  const internal = (await duck<{ file: string }>(`SELECT file FROM glob(${lit(wide)})`))
    .map((r) => r.file)
    .filter((f) => f.includes('/.recount/'));
  expect(internal, `recount's own files a reader globbing ${wide} sees`).toEqual([]);
  if (globbed.length === 0) return;
  const read = await duck<{ f: string; n: string }>(
    `SELECT filename AS f, count(*) AS n FROM read_parquet(${lit(pattern)}, filename = true, hive_partitioning = false) GROUP BY filename`,
  );
  const seen = new Map(read.map((r) => [r.f, Number(r.n)]));
  for (const [file, rows] of expected) expect(seen.get(file) ?? 0, `rows a reader sees in ${file}`).toBe(rows);
}

/** I4: no key appears twice in the partition published at `path`. */
export async function assertUniqueKeys(path: string, keys: readonly string[]): Promise<void> {
  const dups = await duck(
    `SELECT ${keys.join(', ')}, count(*) AS n FROM read_parquet(${lit(join(path, '*.parquet'))}, hive_partitioning = false) GROUP BY ALL HAVING count(*) > 1 LIMIT 10`,
  );
  expect(dups, `duplicate keys in ${path}`).toEqual([]);
}

/** Relative tolerance for DOUBLE columns: a float sum may differ in its last bits between two runs. */
export const DOUBLE_TOLERANCE = 1e-9;

/**
 * I2: the rows published at `path` equal the baseline's: keys, the file each row sits in (I3) and non-float
 * columns exactly, FLOAT/DOUBLE columns within a relative 1e-9. Compared inside DuckDB so large outputs stay cheap.
 */
export async function assertSameRows(path: string, baselinePath: string, manifest: Manifest): Promise<void> {
  const isFloat = (type: string) => /^(FLOAT|DOUBLE|REAL)/i.test(type);
  // _file is the bucket (`part-00003`): each version tags its own file names, the bucket a key lands in is what I3 fixes.
  const side = (p: string) =>
    `SELECT regexp_extract(parse_filename(filename), '^(part-\\d+)', 1) AS _file, * EXCLUDE (filename) FROM read_parquet(${lit(join(p, '*.parquet'))}, filename = true, hive_partitioning = false)`;
  const [counts] = await duck<{ got: string; want: string }>(
    `SELECT (SELECT count(*) FROM (${side(path)})) AS got, (SELECT count(*) FROM (${side(baselinePath)})) AS want`,
  );
  expect(Number(counts!.got), `rows in ${path} vs the fault-free baseline`).toBe(Number(counts!.want));
  const on = manifest.keys.map((k) => `g.${ident(k)} IS NOT DISTINCT FROM w.${ident(k)}`).join(' AND ');
  const exact = [
    '_file',
    ...manifest.schema.filter((c) => !isFloat(c.type) && !manifest.keys.includes(c.name)).map((c) => c.name),
  ];
  const floats = manifest.schema.filter((c) => isFloat(c.type)).map((c) => c.name);
  const differs = [
    'g.__side IS NULL',
    'w.__side IS NULL',
    ...exact.map((c) => `g.${ident(c)} IS DISTINCT FROM w.${ident(c)}`),
    ...floats.map(
      (c) =>
        `abs(g.${ident(c)} - w.${ident(c)}) > ${DOUBLE_TOLERANCE} * greatest(abs(g.${ident(c)}), abs(w.${ident(c)}))`,
    ),
    ...floats.map((c) => `(g.${ident(c)} IS NULL) <> (w.${ident(c)} IS NULL)`),
  ].join(' OR ');
  const diff = await duck(
    `SELECT g AS published, w AS baseline FROM (SELECT *, 1 AS __side FROM (${side(path)})) g FULL OUTER JOIN (SELECT *, 1 AS __side FROM (${side(baselinePath)})) w ON ${on} WHERE ${differs} LIMIT 10`,
  );
  expect(diff, `rows of ${path} that differ from the fault-free baseline`).toEqual([]);
}

/**
 * No visible orphans once recovery has run: staging is empty, no temporary link is left, every version
 * folder is one the state store lists as published or retained (and each of those is complete, with
 * `_SUCCESS`), no publish intent is pending and no attempt is left running.
 */
export async function assertNoOrphans(store: StateStore, outputRoot: string): Promise<void> {
  const layout = new OutputLayout(outputRoot);
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  expect(entries(layout.stagingRoot), 'staging left behind').toEqual([]);
  expect(entries(layout.tmpRoot), 'temporary links left behind').toEqual([]);
  expect(await store.pendingIntents(), 'pending publish intents').toEqual([]);
  expect(
    (await store.listAttempts({ status: 'running' })).map((a) => a.attempt_id),
    'attempts left running',
  ).toEqual([]);

  const onDisk: string[] = [];
  for (const analyzer of entries(layout.versionsRoot)) {
    for (const partition of entries(join(layout.versionsRoot, analyzer))) {
      for (const v of entries(join(layout.versionsRoot, analyzer, partition)))
        onDisk.push(join(layout.versionsRoot, analyzer, partition, v));
    }
  }
  const kept: string[] = [];
  const seqs = new Map<string, number>();
  for (const p of await store.listPartitions()) {
    const versions = await store.listVersions(p.analyzer, p.partition_id);
    const published = versions.filter((v) => v.status === 'published');
    expect(
      published.map((v) => v.seq),
      `${p.analyzer} ${p.partition_id}: published version`,
    ).toEqual(p.published_seq === null ? [] : [p.published_seq]);
    for (const v of versions.filter((x) => x.status === 'published' || x.status === 'retained')) {
      kept.push(v.dir);
      seqs.set(v.dir, v.seq);
      expect(existsSync(join(v.dir, '_SUCCESS')), `${v.dir}: _SUCCESS`).toBe(true);
    }
    if (p.published_seq !== null) {
      const link = layout.publishedPath(p.analyzer, p.partition_id);
      expect(realpathSync(link), `${link} points at the published version`).toBe(realpathSync(published[0]!.dir));
    }
  }
  for (const [dir, m] of await assertVersionsComplete(kept))
    expect(m.version, `${dir}: manifest version`).toBe(seqs.get(dir));
  expect(
    onDisk.map((d) => relative(outputRoot, d)).sort(),
    'version folders on disk vs published or retained in the state store',
  ).toEqual(kept.map((d) => relative(outputRoot, d)).sort());
}

/** A fault-free copy of a project: same config, analyzers and input events, its own output and state. */
export function cleanCopy(tp: TestProject): {
  dir: string;
  cli(args: string[]): ReturnType<typeof runCli>;
  cleanup(): void;
} {
  const dir = tempDir('recount-baseline-');
  for (const name of ['package.json', 'recount.config.ts', 'analyzers', 'data/events']) {
    if (existsSync(join(tp.dir, name))) cpSync(join(tp.dir, name), join(dir, name), { recursive: true });
  }
  return {
    dir,
    cli: (args) => runCli(['--project', dir, ...args]),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Everything a retry must leave behind, for one partition: I1 (path and reader glob), I2 against the baseline, I4, no orphans. */
export async function assertRecovered(
  tp: TestProject,
  opts: { analyzer: string; partition: string; baselineOutput: string; grain?: 'hour' | 'day' },
): Promise<PublishedView> {
  const outputRoot = join(tp.dir, 'data/out');
  const view = await assertPublishedComplete(outputRoot, opts.analyzer, opts.partition);
  expect(view, `${opts.analyzer} ${opts.partition} is published after the retry`).toBeDefined();
  expect(view!.success, `${view!.path}: _SUCCESS after the retry`).toBe(true);
  await assertReaderSeesOnlyCommitted(outputRoot, opts.analyzer, opts.grain);
  await assertUniqueKeys(view!.path, view!.manifest.keys);
  await assertSameRows(
    view!.path,
    new OutputLayout(opts.baselineOutput).publishedPath(opts.analyzer, opts.partition),
    view!.manifest,
  );
  const ctx = await tp.open();
  try {
    await assertNoOrphans(ctx.store, outputRoot);
  } finally {
    await ctx.close();
  }
  return view!;
}
