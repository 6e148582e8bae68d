import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest, type Manifest } from '../commit/manifest.ts';
import { RecountError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import type { VersionRow } from '../state/types.ts';

/** A kept version with its manifest and the absolute paths of its Parquet files. */
export interface VersionFiles {
  readonly seq: number;
  readonly row: VersionRow;
  readonly manifest: Manifest;
  readonly files: string[];
}

function listing(versions: readonly VersionRow[]): string {
  const kept = versions.filter((v) => v.status === 'published' || v.status === 'retained');
  return kept.map((v) => `v${v.seq}${v.status === 'published' ? ' (published)' : ''}`).join(', ') || 'none';
}

/** Open one kept version of a partition: VERSION_NOT_FOUND if it was never made, was deleted, or its files are gone. */
export async function openVersion(
  store: StateStore,
  analyzer: string,
  partitionId: string,
  seq: number,
): Promise<VersionFiles> {
  const versions = await store.listVersions(analyzer, partitionId);
  const row = versions.find((v) => v.seq === seq);
  const where = `${analyzer} ${partitionId} v${seq}`;
  if (!row || row.status === 'deleted' || row.status === 'publishing') {
    throw new RecountError('VERSION_NOT_FOUND', `${analyzer} ${partitionId}: version ${seq} is not kept`, {
      subject: where,
      hint: `versions kept: ${listing(versions)}`,
    });
  }
  const manifest = readManifest(row.dir);
  const files = manifest?.files.map((f) => join(row.dir, f.path)) ?? [];
  const missing = manifest ? files.filter((f) => !existsSync(f)) : [join(row.dir, '_manifest.json')];
  if (!manifest || missing.length > 0) {
    throw new RecountError('VERSION_NOT_FOUND', `${where}: its files are gone (${missing.slice(0, 3).join(', ')})`, {
      subject: missing[0] ?? row.dir,
      hint: `something outside recount deleted them; 'recount doctor' lists every such version. Versions kept: ${listing(versions)}`,
    });
  }
  return { seq, row, manifest, files };
}

/** Why a diff compares the versions it does. */
export type DiffBasis = 'named' | 'previously-published' | 'kept-before';

/**
 * The two versions a diff compares by default: `to` is the published one (or the one named); `from` is the one
 * readers saw before `to` was published — the kept version published most recently before it, which after a
 * rollback is the version rolled back from — or, when `to` is named, the newest kept version before it.
 */
export async function chooseVersions(
  store: StateStore,
  analyzer: string,
  partitionId: string,
  want: { from?: number; to?: number },
): Promise<{ from: number; to: number; basis: DiffBasis }> {
  const versions = await store.listVersions(analyzer, partitionId);
  const kept = versions
    .filter((v) => v.status === 'published' || v.status === 'retained')
    .sort((a, b) => a.seq - b.seq);
  const published = versions.find((v) => v.status === 'published');
  const to = want.to ?? published?.seq ?? kept.at(-1)?.seq;
  if (to === undefined) {
    throw new RecountError('VERSION_NOT_FOUND', `${analyzer} ${partitionId}: no version has been published`, {
      subject: `${analyzer} ${partitionId}`,
      hint: `run it first: recount run ${analyzer} --partition ${partitionId}`,
    });
  }
  if (want.from !== undefined) return { from: want.from, to, basis: 'named' };
  const others = kept.filter((v) => v.seq !== to);
  if (want.to === undefined) {
    const before = others
      .filter((v) => v.published_at !== null)
      .sort((a, b) => (a.published_at! < b.published_at! ? -1 : a.published_at! > b.published_at! ? 1 : a.seq - b.seq))
      .at(-1);
    if (before) return { from: before.seq, to, basis: 'previously-published' };
  }
  const from = others.filter((v) => v.seq < to).at(-1)?.seq;
  if (from === undefined) {
    throw new RecountError(
      'VERSION_NOT_FOUND',
      `${analyzer} ${partitionId}: no other kept version to compare v${to} with`,
      {
        subject: `${analyzer} ${partitionId}`,
        hint: `versions kept: ${listing(versions)}; name both with --from V --to V`,
      },
    );
  }
  return { from, to, basis: 'kept-before' };
}
