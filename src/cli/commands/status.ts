import type { Command } from 'commander';
import { getAnalyzer } from '../../config/project.ts';
import { parsePartition } from '../../catalog/partition.ts';
import { formatBytes, thousands } from '../../config/size.ts';
import type { StateStore } from '../../state/store.ts';
import { action } from '../command.ts';
import { status, table } from '../format.ts';
import { withSession } from '../session.ts';
import { inputVersionsOf } from '../../commit/manifest.ts';
import { analyzerLag, lagWords } from '../../scheduler/lag.ts';
import { ownerAlive } from '../../commit/liveness.ts';
import { isFailedStatus, type AttemptTable } from '../../state/types.ts';
import { versionsWithEngine } from '../../doctor/provenance.ts';

interface AnalyzerSummary {
  analyzer: string;
  grain: string;
  inputs: readonly string[];
  partitions: number;
  published: number;
  failing: string[];
  failedForGood: string[];
  running: number;
  queued: number;
  newestPublished: string | null;
  newestReady: string | null;
  lagSeconds: number;
  readyUnpublished: number;
  beforeWindow: number;
  windowStart: string;
  lastRun: string | null;
  /** Warehouse table, and published versions it does not hold yet: owed (retried by serve) and failed (need a fix). */
  loadTable: string | null;
  loadsOwed: number;
  loadsFailed: number;
}

/** A partition whose latest attempt failed, for a reason other than its input not being there yet. */
function isFailing(r: { lastAttempt: { status: string; errorCode: string | null } | null }): boolean {
  return !!r.lastAttempt && isFailedStatus(r.lastAttempt.status) && r.lastAttempt.errorCode !== 'PARTITION_NOT_READY';
}

/** Runs of an analyzer whose newest queue item failed for good (none queued or running after it). */
function latestFailedForGood<T extends { analyzer: string; partition_id: string; id: number }>(
  failed: readonly T[],
  analyzer: string,
  active: readonly T[],
): T[] {
  const newest = new Map<string, T>();
  for (const q of failed)
    if (q.analyzer === analyzer && (newest.get(q.partition_id)?.id ?? -1) < q.id) newest.set(q.partition_id, q);
  return [...newest.values()]
    .filter((q) => !active.some((x) => x.analyzer === analyzer && x.partition_id === q.partition_id))
    .sort((x, y) => (x.partition_id < y.partition_id ? -1 : x.partition_id > y.partition_id ? 1 : 0));
}

/** An error in full, with its hint on the next line (never cut: the message names the file or setting at fault). */
function errorLines(f: { error_code: string | null; error_message: string | null; error_hint: string | null }): string {
  return `[${f.error_code}] ${f.error_message ?? ''}${f.error_hint ? `\n      → ${f.error_hint}` : ''}`;
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
      heldVersion: p.held_seq ?? null,
      rows: v ? Number(v.rows) : null,
      files: v ? Number(v.files) : null,
      bytes: v ? Number(v.bytes) : null,
      publishedAt: v?.published_at ?? null,
      lastAttempt: last
        ? {
            id: last.attempt_id,
            status: last.status,
            startedAt: last.started_at,
            errorCode: last.error_code,
            error: last.error_message,
          }
        : null,
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
            const r = await versionsWithEngine(s.store, opts.engineVersion, only);
            const shape = (v: (typeof r.published)[number]) => ({
              analyzer: v.analyzer,
              partition: v.partition_id,
              version: v.seq,
              engineVersion: v.engine_version,
              recountVersion: v.recount_version,
              publishedAt: v.published_at,
              rows: Number(v.rows),
              dir: v.dir,
            });
            const found = r.published.map(shape);
            const retained = r.retained.map(shape);
            out.result(
              { ok: true, engineVersion: opts.engineVersion, versions: found, retained, backfill: r.backfill },
              () => {
                if (!found.length && !retained.length)
                  return out.info(`no published or kept version was made with engine version ${opts.engineVersion}`);
                const t = table(['analyzer', 'partition', 'version', 'engine', 'recount', 'published']);
                for (const v of found)
                  t.push([
                    v.analyzer,
                    v.partition,
                    `v${v.version}`,
                    v.engineVersion,
                    v.recountVersion,
                    v.publishedAt ?? '-',
                  ]);
                if (found.length) out.info(t.toString());
                if (retained.length)
                  out.info(
                    `kept older versions made with it (not visible; rollback targets): ${retained.map((v) => `${v.analyzer} ${v.partition} v${v.version}`).join(', ')}`,
                  );
                for (const c of r.backfill) out.info(`rerun: ${c}`);
              },
            );
            return 0;
          }
          if (!name) {
            const summary: AnalyzerSummary[] = [];
            const queue = await s.store.queue.list(['queued', 'running']);
            const failedForGood = await s.store.queue.list(['failed']);
            const heldByDead = new Set<number>();
            for (const q of queue)
              if (
                q.state === 'running' &&
                !(
                  q.owner_host !== null &&
                  q.owner_token !== null &&
                  (await ownerAlive(s.store, q.owner_host, q.owner_token))
                )
              )
                heldByDead.add(Number(q.id));
            const liveDaemon = (q: (typeof queue)[number]) => !heldByDead.has(Number(q.id));
            for (const a of s.project.analyzers.values()) {
              const rows = await partitionSummary(s.store, a.name);
              const failing = rows.filter((r) => isFailing(r));
              const lag = await analyzerLag(s.project, s.store, a);
              const mine = queue.filter((q) => q.analyzer === a.name);
              const loadsOwed = a.load ? (await s.store.loads.owed([a.name])).length : 0;
              const loadsFailed = a.load
                ? (await s.store.loads.pending({ analyzer: a.name, includeFailed: true })).filter(
                    (l) => l.status === 'failed',
                  ).length
                : 0;
              summary.push({
                analyzer: a.name,
                grain: a.grain,
                inputs: a.inputs,
                partitions: rows.length,
                published: rows.filter((r) => r.publishedVersion !== null).length,
                failing: failing.map((r) => r.partition),
                failedForGood: latestFailedForGood(failedForGood, a.name, queue).map((q) => q.partition_id),
                running: mine.filter((q) => q.state === 'running' && liveDaemon(q)).length,
                queued: mine.filter((q) => q.state === 'queued').length,
                newestPublished: lag.newestPublished,
                newestReady: lag.newestReady,
                lagSeconds: lag.seconds,
                readyUnpublished: lag.readyUnpublished,
                beforeWindow: lag.beforeWindow,
                windowStart: lag.windowStart,
                lastRun:
                  rows
                    .map((r) => r.lastAttempt?.startedAt ?? '')
                    .sort()
                    .at(-1) || null,
                loadTable: a.load?.table ?? null,
                loadsOwed,
                loadsFailed,
              });
            }
            // Failures a later success has not fixed: the latest attempt of each partition, when it failed.
            const latestByPartition = new Map<string, AttemptTable>();
            for (const x of await s.store.listAttempts({ limit: 500 }))
              if (!latestByPartition.has(`${x.analyzer}/${x.partition_id}`))
                latestByPartition.set(`${x.analyzer}/${x.partition_id}`, x);
            const recentFailures = [...latestByPartition.values()].filter((x) => isFailedStatus(x.status)).slice(0, 5);
            const orphaned = queue.filter((q) => !liveDaemon(q));
            const queueJson = queue.map((q) => ({
              analyzer: q.analyzer,
              partition: q.partition_id,
              state: q.state,
              heldByLiveDaemon: liveDaemon(q),
              reason: q.reason,
              attempts: q.attempts,
              notBefore: q.not_before,
              lastError: q.last_error,
            }));
            const healthy = summary.every((r) => r.failing.length === 0 && r.failedForGood.length === 0);
            out.result(
              {
                ok: healthy,
                analyzers: summary,
                queue: queueJson,
                recentFailures: recentFailures.map((x) => ({
                  analyzer: x.analyzer,
                  partition: x.partition_id,
                  attemptId: x.attempt_id,
                  status: x.status,
                  at: x.finished_at,
                  code: x.error_code,
                  message: x.error_message,
                  hint: x.error_hint,
                })),
              },
              () => {
                const t = table([
                  'analyzer',
                  'grain',
                  'published',
                  'failing',
                  'queued',
                  'running',
                  'newest ready',
                  'newest published',
                  'lag',
                ]);
                for (const r of summary)
                  t.push([
                    r.analyzer,
                    r.grain,
                    String(r.published),
                    r.failing.length ? status('failed') + ` ${r.failing.length}` : '0',
                    String(r.queued),
                    String(r.running),
                    r.newestReady ?? '-',
                    r.newestPublished ?? '-',
                    lagWords({ seconds: r.lagSeconds, readyUnpublished: r.readyUnpublished }),
                  ]);
                out.info(t.toString());
                const running = queue.filter((q) => q.state === 'running' && liveDaemon(q));
                if (running.length)
                  out.info(`running: ${running.map((q) => `${q.analyzer} ${q.partition_id}`).join(', ')}`);
                if (orphaned.length)
                  out.info(
                    `held by a daemon that is gone (requeued when recount serve starts): ${orphaned.map((q) => `${q.analyzer} ${q.partition_id}`).join(', ')}`,
                  );
                for (const r of summary) {
                  if (r.loadsOwed || r.loadsFailed)
                    out.info(
                      `${r.analyzer}: ${r.loadTable} lacks ${r.loadsOwed + r.loadsFailed} published version(s)${r.loadsFailed ? ` (${r.loadsFailed} failed, need a fix)` : ''}: recount load ${r.analyzer} --pending`,
                    );
                  if (r.beforeWindow)
                    out.info(
                      `${r.analyzer}: ${r.beforeWindow} partition(s) with input before ${r.windowStart.slice(0, 13)} are not published; recount serve only considers partitions from there on (set start in the analyzer, or run recount backfill)`,
                    );
                  if (r.failedForGood.length)
                    out.info(
                      `${r.analyzer}: failed for good, not retried until its input or SQL changes: ${r.failedForGood.slice(0, 5).join(', ')}${r.failedForGood.length > 5 ? ` and ${r.failedForGood.length - 5} more` : ''} — after fixing the cause: recount backfill ${r.analyzer} --from ${r.failedForGood[0]} --to ${r.failedForGood.at(-1)} --force`,
                    );
                }
                if (recentFailures.length) {
                  out.info('last failures (not fixed by a later attempt):');
                  for (const f of recentFailures)
                    out.info(
                      `  ${status(f.status)} ${f.analyzer} ${f.partition_id} at ${f.finished_at ?? '-'}: ${errorLines(f)}`,
                    );
                }
              },
            );
            return healthy ? 0 : 1;
          }
          const analyzer = getAnalyzer(s.project, name);
          if (!opts.partition) {
            const rows = await partitionSummary(s.store, analyzer.name);
            const failing = rows.filter((r) => isFailing(r));
            out.result({ ok: failing.length === 0, analyzer: analyzer.name, partitions: rows }, () => {
              const t = table(['partition', 'version', 'rows', 'files', 'size', 'last attempt', 'error']);
              for (const r of rows) {
                t.push([
                  r.partition,
                  r.publishedVersion === null
                    ? '-'
                    : `v${r.publishedVersion}${r.heldVersion !== null ? ' (held)' : ''}`,
                  r.rows === null ? '-' : thousands(Number(r.rows)),
                  r.files ?? '-',
                  r.bytes === null ? '-' : formatBytes(r.bytes),
                  r.lastAttempt ? status(r.lastAttempt.status) : '-',
                  r.lastAttempt?.errorCode ? `[${r.lastAttempt.errorCode}]` : '',
                ]);
              }
              out.info(rows.length ? t.toString() : `${analyzer.name}: nothing has run yet`);
              for (const r of failing.slice(0, 10))
                out.info(
                  `  ${status(r.lastAttempt!.status)} ${r.partition}: [${r.lastAttempt!.errorCode}] ${r.lastAttempt!.error ?? ''}`,
                );
              if (failing.length > 10)
                out.info(`  … and ${failing.length - 10} more failing partitions (--json lists them all)`);
              const held = rows.filter((r) => r.heldVersion !== null);
              if (held.length)
                out.info(
                  `held by a rollback (recount serve and backfill leave them until new input or recount release): ${held.map((r) => `${r.partition} at v${r.heldVersion}`).join(', ')}`,
                );
            });
            return failing.length === 0 ? 0 : 1;
          }
          const p = parsePartition(opts.partition, analyzer.grain);
          const partition = await s.store.getPartition(analyzer.name, p.id);
          const versions = await s.store.listVersions(analyzer.name, p.id);
          const attempts = await s.store.listAttempts({ analyzer: analyzer.name, partitionId: p.id, limit: 20 });
          // The newest attempt that got as far as its checks (one that failed before them, e.g. input not ready, has none).
          let checks: Awaited<ReturnType<typeof s.store.checkResults>> = [];
          let checksOf: string | null = null;
          for (const a of attempts) {
            checks = await s.store.checkResults(a.attempt_id);
            if (checks.length) {
              checksOf = a.attempt_id;
              break;
            }
          }
          const queued = (await s.store.queue.list(['queued', 'running'], analyzer.name)).filter(
            (q) => q.partition_id === p.id,
          );
          const loads = analyzer.load
            ? await s.store.loads.list({ analyzer: analyzer.name, partitionId: p.id, limit: 10 })
            : [];
          const detail = {
            ok: true,
            analyzer: analyzer.name,
            partition: p.id,
            publishedVersion: partition?.published_seq ?? null,
            held: partition?.held_seq != null ? { version: partition.held_seq, since: partition.held_at } : null,
            publishedPath: s.layout.publishedPath(analyzer.name, p),
            versions: versions.map((v) => ({
              version: v.seq,
              status: v.status,
              rows: Number(v.rows),
              files: Number(v.files),
              bytes: Number(v.bytes),
              attemptId: v.attempt_id,
              engineVersion: v.engine_version,
              inputFingerprint: v.input_fingerprint,
              inputVersions: inputVersionsOf(v.dir),
              createdAt: v.created_at,
              dir: v.dir,
            })),
            budgetBytes: analyzer.memoryBytes,
            queue: queued.map((q) => ({
              state: q.state,
              reason: q.reason,
              attempts: q.attempts,
              maxAttempts: q.max_attempts,
              notBefore: q.not_before,
              nextThreads: q.threads,
              nextDuckdbBytes: q.memory_bytes === null ? null : Number(q.memory_bytes),
              lastError: q.last_error_code ? { code: q.last_error_code, message: q.last_error } : null,
            })),
            attempts: attempts.map((a) => ({
              attemptId: a.attempt_id,
              status: a.status,
              startedAt: a.started_at,
              finishedAt: a.finished_at,
              rows: a.rows === null ? null : Number(a.rows),
              peakRssBytes: a.peak_rss_bytes === null ? null : Number(a.peak_rss_bytes),
              threads: a.threads,
              duckdbLimitBytes: Number(a.memory_bytes),
              duckdbPeakBytes: a.duckdb_peak_bytes === null ? null : Number(a.duckdb_peak_bytes),
              spillBytes: a.spill_bytes === null ? null : Number(a.spill_bytes),
              sparkConf: a.spark_conf ? (JSON.parse(a.spark_conf) as Record<string, string>) : null,
              error: a.error_code ? { code: a.error_code, message: a.error_message, hint: a.error_hint } : null,
            })),
            loads: loads.map((l) => ({
              version: Number(l.version_seq),
              table: l.table_name,
              status: l.status,
              rows: l.rows === null ? null : Number(l.rows),
              tries: Number(l.tries),
              error: l.error_code ? { code: l.error_code, message: l.error_message, hint: l.error_hint } : null,
            })),
            lastChecksAttempt: checksOf,
            lastChecks: checks.map((c) => ({
              name: c.name,
              kind: c.kind,
              severity: c.severity,
              passed: c.passed === 1,
              failing: Number(c.failing),
              sample: JSON.parse(c.sample_json) as unknown[],
              message: c.message,
            })),
          };
          out.result(detail, () => {
            out.info(
              `${analyzer.name} ${p.id}: published ${detail.publishedVersion === null ? 'nothing yet' : `v${detail.publishedVersion}`} at ${detail.publishedPath}`,
            );
            if (detail.held)
              out.info(
                `held at v${detail.held.version} by a rollback since ${detail.held.since}: recount serve and backfill leave it there until its input changes or: recount release ${analyzer.name} --partition ${p.id}`,
              );
            const vt = table(['version', 'status', 'rows', 'files', 'size', 'created']);
            for (const v of detail.versions)
              vt.push([`v${v.version}`, status(v.status), v.rows, v.files, formatBytes(v.bytes), v.createdAt]);
            out.info(vt.toString());
            const read = detail.versions.find((v) => v.version === detail.publishedVersion)?.inputVersions ?? [];
            if (read.length)
              out.info(
                `v${detail.publishedVersion} was computed from ${read.map((r) => `${r.analyzer} ${r.partition} v${r.version}`).join(', ')}`,
              );
            const at = table([
              'attempt',
              'status',
              'started',
              'rows',
              'threads',
              'DuckDB limit',
              'DuckDB peak',
              'spilled',
              'peak RSS',
              'error',
            ]);
            const size = (b: number | null) => (b === null ? '-' : formatBytes(b));
            for (const a of detail.attempts)
              at.push([
                a.attemptId,
                status(a.status),
                a.startedAt,
                a.rows ?? '-',
                a.threads,
                size(a.duckdbLimitBytes),
                size(a.duckdbPeakBytes),
                size(a.spillBytes),
                size(a.peakRssBytes),
                a.error ? `[${a.error.code}]` : '',
              ]);
            out.info(
              `memory budget ${formatBytes(detail.budgetBytes)} per attempt (the worker's RSS may not pass it; DuckDB gets its own limit inside it)`,
            );
            for (const q of detail.queue) {
              const next = q.nextThreads
                ? `, next with ${q.nextThreads} thread(s)${q.nextDuckdbBytes ? ` and DuckDB limit ${formatBytes(q.nextDuckdbBytes)}` : ''}`
                : '';
              out.info(
                `queue: ${q.state} (${q.reason}), try ${q.attempts} of ${q.maxAttempts}${q.state === 'queued' ? `, not before ${q.notBefore}` : ''}${next}${q.lastError ? `; last error [${q.lastError.code}]` : ''}`,
              );
            }
            out.info(at.toString());
            for (const l of detail.loads)
              out.info(
                `warehouse: v${l.version} ${l.status} → ${l.table}${l.rows !== null ? ` (${l.rows} rows)` : ''}${l.error ? ` [${l.error.code}] ${l.error.message}` : ''}`,
              );
            const last = detail.attempts[0];
            if (last?.error)
              out.info(
                `latest attempt ${status(last.status)}: [${last.error.code}] ${last.error.message}${last.error.hint ? `\n  → ${last.error.hint}` : ''}`,
              );
            if (detail.lastChecks.length) {
              out.info(`checks of attempt ${checksOf}:`);
              const ct = table(['check', 'result', 'failing', 'sample']);
              for (const c of detail.lastChecks)
                ct.push([
                  c.name,
                  c.passed ? status('succeeded') : status('failed'),
                  c.failing,
                  c.sample.length ? JSON.stringify(c.sample.slice(0, 3)).slice(0, 80) : '',
                ]);
              out.info(ct.toString());
            }
          });
          return 0;
        }),
      ),
    );
}
