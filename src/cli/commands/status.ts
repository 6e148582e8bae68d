import type { Command } from 'commander';
import { getAnalyzer } from '../../config/project.ts';
import { parsePartition } from '../../catalog/partition.ts';
import { formatBytes } from '../../config/size.ts';
import type { StateStore } from '../../state/store.ts';
import { action } from '../command.ts';
import { status, table } from '../format.ts';
import { withSession } from '../session.ts';
import { analyzerLag } from '../../scheduler/lag.ts';
import { publishedWithEngine } from '../../doctor/provenance.ts';

function lagText(seconds: number): string {
  if (seconds === 0) return 'caught up';
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : `${Math.round(seconds / 60)} min`;
}

async function partitionSummary(store: StateStore, analyzer: string) {
  const partitions = await store.listPartitions(analyzer);
  const attempts = await store.listAttempts({ analyzer, limit: 100_000 });
  const latest = new Map<string, (typeof attempts)[number]>();
  for (const a of attempts) if (!latest.has(a.partition_id)) latest.set(a.partition_id, a);
  const rows = [];
  for (const p of partitions) {
    const v = p.published_seq === null ? undefined : await store.getVersion(analyzer, p.partition_id, p.published_seq);
    const last = latest.get(p.partition_id);
    rows.push({
      partition: p.partition_id,
      publishedVersion: p.published_seq,
      rows: v ? Number(v.rows) : null,
      files: v ? Number(v.files) : null,
      bytes: v ? Number(v.bytes) : null,
      publishedAt: v?.published_at ?? null,
      lastAttempt: last ? { id: last.attempt_id, status: last.status, startedAt: last.started_at, errorCode: last.error_code, error: last.error_message } : null,
    });
  }
  return rows;
}

/** `recount status [analyzer] [--partition ID]`: what is published, what ran, what failed. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show analyzers, their partitions, versions, attempts and check results')
    .argument('[analyzer]', 'analyzer name (default: all)')
    .option('--partition <id>', 'one partition: its versions, attempts and checks')
    .option('--engine-version <v>', 'list the published versions made with this engine (DuckDB) version, e.g. v1.4.0')
    .action(
      action(async (out, g, name: string | undefined, opts: { partition?: string; engineVersion?: string }) =>
        withSession(g.project, async (s) => {
          if (opts.engineVersion) {
            // Provenance (I8): which published outputs did this engine version produce?
            const only = name ? getAnalyzer(s.project, name).name : undefined;
            const found = (await publishedWithEngine(s.store, opts.engineVersion, only)).map((v) => ({ analyzer: v.analyzer, partition: v.partition_id, version: v.seq, engineVersion: v.engine_version, recountVersion: v.recount_version, publishedAt: v.published_at, rows: Number(v.rows), dir: v.dir }));
            out.result({ ok: true, engineVersion: opts.engineVersion, versions: found }, () => {
              if (!found.length) return out.info(`no published version was made with engine version ${opts.engineVersion}`);
              const t = table(['analyzer', 'partition', 'version', 'engine', 'recount', 'published']);
              for (const v of found) t.push([v.analyzer, v.partition, `v${v.version}`, v.engineVersion, v.recountVersion, v.publishedAt ?? '-']);
              out.info(t.toString());
              out.info(`rerun them with: recount backfill <analyzer> --where engine-version=${opts.engineVersion}`);
            });
            return 0;
          }
          if (!name) {
            const summary: { analyzer: string; grain: string; inputs: string[]; partitions: number; published: number; failing: string[]; running: number; queued: number; newestPublished: string | null; newestReady: string | null; lagSeconds: number; lastRun: string | null }[] = [];
            const queue = await s.store.queue.list(['queued', 'running']);
            for (const a of s.project.analyzers.values()) {
              const rows = await partitionSummary(s.store, a.name);
              const failing = rows.filter((r) => r.lastAttempt && ['failed', 'crashed', 'oom'].includes(r.lastAttempt.status));
              const lag = await analyzerLag(s.project, s.store, a);
              summary.push({
                analyzer: a.name,
                grain: a.grain,
                inputs: a.inputs,
                partitions: rows.length,
                published: rows.filter((r) => r.publishedVersion !== null).length,
                failing: failing.map((r) => r.partition),
                running: rows.filter((r) => r.lastAttempt?.status === 'running').length,
                queued: queue.filter((q) => q.analyzer === a.name && q.state === 'queued').length,
                newestPublished: lag.newestPublished,
                newestReady: lag.newestReady,
                lagSeconds: lag.seconds,
                lastRun: rows.map((r) => r.lastAttempt?.startedAt ?? '').sort().at(-1) || null,
              });
            }
            const recentFailures = (await s.store.listAttempts({ limit: 200 })).filter((x) => ['failed', 'crashed', 'oom'].includes(x.status)).slice(0, 5);
            const queueJson = queue.map((q) => ({ analyzer: q.analyzer, partition: q.partition_id, state: q.state, reason: q.reason, attempts: q.attempts, notBefore: q.not_before, lastError: q.last_error }));
            out.result({ ok: true, analyzers: summary, queue: queueJson, recentFailures: recentFailures.map((x) => ({ analyzer: x.analyzer, partition: x.partition_id, attemptId: x.attempt_id, status: x.status, at: x.finished_at, code: x.error_code, message: x.error_message })) }, () => {
              const t = table(['analyzer', 'grain', 'published', 'failing', 'queued', 'running', 'newest ready', 'newest published', 'lag']);
              for (const r of summary) t.push([r.analyzer, r.grain, String(r.published), r.failing.length ? status('failed') + ` ${r.failing.length}` : '0', String(r.queued), String(r.running), r.newestReady ?? '-', r.newestPublished ?? '-', lagText(r.lagSeconds)]);
              out.info(t.toString());
              const running = queue.filter((q) => q.state === 'running');
              if (running.length) out.info(`running: ${running.map((q) => `${q.analyzer} ${q.partition_id}`).join(', ')}`);
              if (recentFailures.length) {
                const ft = table(['failed', 'partition', 'when', 'error']);
                for (const f of recentFailures) ft.push([f.analyzer, f.partition_id, f.finished_at ?? '-', `[${f.error_code}] ${(f.error_message ?? '').slice(0, 70)}`]);
                out.info('last failures:');
                out.info(ft.toString());
              }
            });
            return summary.some((r) => r.failing.length) ? 1 : 0;
          }
          const analyzer = getAnalyzer(s.project, name);
          if (!opts.partition) {
            const rows = await partitionSummary(s.store, analyzer.name);
            out.result({ ok: true, analyzer: analyzer.name, partitions: rows }, () => {
              const t = table(['partition', 'version', 'rows', 'files', 'size', 'last attempt', 'error']);
              for (const r of rows) {
                t.push([r.partition, r.publishedVersion === null ? '-' : `v${r.publishedVersion}`, r.rows ?? '-', r.files ?? '-', r.bytes === null ? '-' : formatBytes(r.bytes), r.lastAttempt ? status(r.lastAttempt.status) : '-', r.lastAttempt?.errorCode ? `[${r.lastAttempt.errorCode}] ${(r.lastAttempt.error ?? '').slice(0, 60)}` : '']);
              }
              out.info(rows.length ? t.toString() : `${analyzer.name}: nothing has run yet`);
            });
            return 0;
          }
          const p = parsePartition(opts.partition, analyzer.grain);
          const partition = await s.store.getPartition(analyzer.name, p.id);
          const versions = await s.store.listVersions(analyzer.name, p.id);
          const attempts = await s.store.listAttempts({ analyzer: analyzer.name, partitionId: p.id, limit: 20 });
          const checks = attempts[0] ? await s.store.checkResults(attempts[0].attempt_id) : [];
          const detail = {
            ok: true,
            analyzer: analyzer.name,
            partition: p.id,
            publishedVersion: partition?.published_seq ?? null,
            publishedPath: s.layout.publishedPath(analyzer.name, p),
            versions: versions.map((v) => ({ version: v.seq, status: v.status, rows: Number(v.rows), files: Number(v.files), bytes: Number(v.bytes), attemptId: v.attempt_id, engineVersion: v.engine_version, inputFingerprint: v.input_fingerprint, createdAt: v.created_at, dir: v.dir })),
            attempts: attempts.map((a) => ({ attemptId: a.attempt_id, status: a.status, startedAt: a.started_at, finishedAt: a.finished_at, rows: a.rows === null ? null : Number(a.rows), peakRssBytes: a.peak_rss_bytes === null ? null : Number(a.peak_rss_bytes), threads: a.threads, error: a.error_code ? { code: a.error_code, message: a.error_message, hint: a.error_hint } : null })),
            lastChecks: checks.map((c) => ({ name: c.name, kind: c.kind, severity: c.severity, passed: c.passed === 1, failing: Number(c.failing), sample: JSON.parse(c.sample_json) as unknown[], message: c.message })),
          };
          out.result(detail, () => {
            out.info(`${analyzer.name} ${p.id}: published ${detail.publishedVersion === null ? 'nothing yet' : `v${detail.publishedVersion}`} at ${detail.publishedPath}`);
            const vt = table(['version', 'status', 'rows', 'files', 'size', 'created']);
            for (const v of detail.versions) vt.push([`v${v.version}`, status(v.status), v.rows, v.files, formatBytes(v.bytes), v.createdAt]);
            out.info(vt.toString());
            const at = table(['attempt', 'status', 'started', 'rows', 'peak RSS', 'error']);
            for (const a of detail.attempts) at.push([a.attemptId, status(a.status), a.startedAt, a.rows ?? '-', a.peakRssBytes ? formatBytes(a.peakRssBytes) : '-', a.error ? `[${a.error.code}] ${String(a.error.message).slice(0, 70)}` : '']);
            out.info(at.toString());
            if (detail.lastChecks.length) {
              const ct = table(['check', 'result', 'failing', 'sample']);
              for (const c of detail.lastChecks) ct.push([c.name, c.passed ? status('succeeded') : status('failed'), c.failing, c.sample.length ? JSON.stringify(c.sample.slice(0, 3)).slice(0, 80) : '']);
              out.info(ct.toString());
            }
          });
          return 0;
        }),
      ),
    );
}
