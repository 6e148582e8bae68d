import { getAnalyzer } from '../../../config/project.ts';
import { versionsWithEngine } from '../../../doctor/provenance.ts';
import type { VersionRow } from '../../../state/types.ts';
import type { Output } from '../../output.ts';
import type { CliSession } from '../../session.ts';
import { tableOf } from '../../tableOf.ts';

/** A version made with the engine version asked for, as `status --engine-version` reports it. */
interface EngineVersionEntry {
  analyzer: string;
  partition: string;
  version: number;
  engineVersion: string;
  recountVersion: string;
  publishedAt: string | null;
  rows: number;
  dir: string;
}

function entryOf(v: VersionRow): EngineVersionEntry {
  return {
    analyzer: v.analyzer,
    partition: v.partition_id,
    version: v.seq,
    engineVersion: v.engine_version,
    recountVersion: v.recount_version,
    publishedAt: v.published_at,
    rows: Number(v.rows),
    dir: v.dir,
  };
}

/**
 * `recount status [analyzer] --engine-version V`: provenance (I8), which published outputs this engine version
 * produced, which kept older versions it made, and the backfill commands that rerun them.
 */
export async function showEngineVersions(
  out: Output,
  s: CliSession,
  engineVersion: string,
  analyzerName: string | undefined,
): Promise<number> {
  const only = analyzerName ? getAnalyzer(s.project, analyzerName).name : undefined;
  const r = await versionsWithEngine(s.store, engineVersion, only);
  const published = r.published.map(entryOf);
  const retained = r.retained.map(entryOf);
  out.result({ ok: true, engineVersion, versions: published, retained, backfill: r.backfill }, () => {
    if (!published.length && !retained.length)
      return out.info(`no published or kept version was made with engine version ${engineVersion}`);
    const head = ['analyzer', 'partition', 'version', 'engine', 'recount', 'published'];
    if (published.length)
      out.info(
        tableOf(head, published, (v) => [
          v.analyzer,
          v.partition,
          `v${v.version}`,
          v.engineVersion,
          v.recountVersion,
          v.publishedAt ?? '-',
        ]),
      );
    if (retained.length)
      out.info(
        `kept older versions made with it (not visible; rollback targets): ${retained.map((v) => `${v.analyzer} ${v.partition} v${v.version}`).join(', ')}`,
      );
    for (const c of r.backfill) out.info(`rerun: ${c}`);
  });
  return 0;
}
