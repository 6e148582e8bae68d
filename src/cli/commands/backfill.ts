import type { Command } from 'commander';
import { thousands } from '../../config/size.ts';
import cliProgress from 'cli-progress';
import { getAnalyzer } from '../../config/project.ts';
import { parsePartition, partitionRange } from '../../catalog/partition.ts';
import { RecountError } from '../../errors.ts';
import { publishedWithEngine } from '../../doctor/provenance.ts';
import { runPartition, type AttemptResult } from '../../run/runPartition.ts';
import { isUpToDate, layoutChange } from '../../run/fingerprint.ts';
import { checkHold } from '../../run/hold.ts';
import { loadWarning } from '../../warehouse/loader.ts';
import { openWarehouse } from '../../warehouse/open.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { action, wholeNumber } from '../command.ts';
import { attemptJson, attemptLine, warnCheckLines, duration, loadLine, table, wrap } from '../format.ts';
import { describeRecovery, withSession } from '../session.ts';

/** Parse `--where engine-version=V`, the one filter backfill knows. */
function parseWhere(value: string): { engineVersion: string } {
  const m = /^engine-version=(.+)$/.exec(value.trim());
  if (!m) {
    throw new RecountError('USAGE', `--where '${value}' is not a filter recount knows`, {
      subject: '--where',
      hint: 'write --where engine-version=v1.4.0 (the DuckDB version recorded in each published version)',
    });
  }
  return { engineVersion: m[1]! };
}

/** `recount backfill <analyzer> --from ID --to ID`: run a range, continuing past failures, and report them. */
export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('run an analyzer over a range of partitions; a failed partition is reported, the rest still run')
    .argument('<analyzer>', 'analyzer name')
    .option('--from <id>', 'first partition (inclusive)')
    .option('--to <id>', 'last partition (inclusive)')
    .option(
      '--where <filter>',
      'rerun exactly the published partitions that match: engine-version=V (within --from/--to if given)',
    )
    .option('--force', 'rerun partitions already published from the same input and SQL')
    .option('--threads <n>', 'DuckDB threads per run', wholeNumber('--threads', 1))
    .action(
      action(
        async (
          out,
          g,
          name: string,
          opts: { from?: string; to?: string; where?: string; force?: boolean; threads?: number },
        ) =>
          withSession(g.project, async (s) => {
            for (const l of describeRecovery(s.recovery)) out.warn(l);
            const analyzer = getAnalyzer(s.project, name);
            if ((opts.from === undefined) !== (opts.to === undefined) || (opts.from === undefined && !opts.where)) {
              throw new RecountError('USAGE', 'backfill needs --from and --to, or --where, or all three', {
                subject: 'recount backfill',
                hint: `recount backfill ${analyzer.name} --from ID --to ID, or --where engine-version=V`,
              });
            }
            let partitions = opts.from !== undefined ? partitionRange(opts.from, opts.to!, analyzer.grain) : [];
            if (opts.where) {
              // Provenance: exactly the partitions whose published version was made with that engine version, rerun even though their input is unchanged.
              const matching = (
                await publishedWithEngine(s.store, parseWhere(opts.where).engineVersion, analyzer.name)
              ).map((v) => v.partition_id);
              const inRange = new Set(partitions.map((p) => p.id));
              partitions = matching
                .filter((id) => opts.from === undefined || inRange.has(id))
                .sort()
                .map((id) => parsePartition(id, analyzer.grain));
              opts.force = true;
            }
            const bar =
              !g.json && process.stderr.isTTY
                ? new cliProgress.SingleBar(
                    {
                      format: ' {bar} {value}/{total} partitions | {partition} | failed: {failed}',
                      stream: process.stderr,
                      hideCursor: true,
                    },
                    cliProgress.Presets.shades_classic,
                  )
                : undefined;
            bar?.start(partitions.length, 0, { partition: '', failed: 0 });
            const results: AttemptResult[] = [];
            const skipped: string[] = [];
            const held: string[] = [];
            let failed = 0;
            const started = Date.now();
            // One warehouse for the whole backfill, not one open (and, for a DuckDB file, one checkpoint on close) per
            // partition. A DuckDB warehouse file is then held for the backfill's duration. If it cannot be opened now,
            // each load tries on its own and is recorded as pending when it fails, as without this.
            let warehouse: Warehouse | undefined;
            if (analyzer.load && partitions.length > 1)
              warehouse = await openWarehouse(s.project.warehouseUrl, s.project.dir).catch(() => undefined);
            try {
              for (const p of partitions) {
                bar?.update({ partition: p.id });
                // Up to date comes first: a held partition is reported as held only when it would otherwise rerun.
                const upToDate = !opts.force && (await isUpToDate(s.store, s.project, analyzer, p));
                const hold = opts.force || upToDate ? undefined : await checkHold(s.store, s.project, analyzer, p);
                if (hold?.state === 'released' && !g.json)
                  out.info(`${analyzer.name} ${p.id}: hold of the rollback to v${hold.seq} released: ${hold.reason}`);
                if (upToDate) {
                  skipped.push(p.id);
                } else if (hold?.state === 'held') {
                  held.push(p.id);
                } else {
                  const published = opts.force ? undefined : await s.store.publishedVersion(analyzer.name, p.id);
                  const change = published && layoutChange(analyzer, published.dir);
                  if (change)
                    out.warn(
                      `${analyzer.name} ${p.id}: a layout change, rerun although its input and SQL are unchanged: v${published.seq} ${change}`,
                    );
                  const r = await runPartition({ ...s, warehouse }, analyzer, p.id, {
                    trigger: 'backfill',
                    threads: opts.threads,
                    respectHold: !opts.force,
                  });
                  results.push(r);
                  if (r.status === 'failed') failed++;
                  if (!bar && !g.json) {
                    out.info(attemptLine(r));
                    for (const l of warnCheckLines(r)) out.info(l);
                    if (r.load) out.info(loadLine(r.load));
                  }
                }
                bar?.increment(1, { failed });
              }
            } finally {
              await warehouse?.close();
            }
            bar?.stop();
            const failures = results.filter((r) => r.status === 'failed');
            out.result(
              {
                ok: failed === 0,
                analyzer: analyzer.name,
                partitions: partitions.length,
                succeeded: results.filter((r) => r.status === 'succeeded').length,
                failed,
                skipped,
                held,
                results: results.map(attemptJson),
              },
              () => {
                out.info(
                  `${analyzer.name}: ${partitions.length} partitions in ${duration(Date.now() - started)} — ${results.length - failed} published, ${skipped.length} already up to date, ${held.length ? `${held.length} held by a rollback, ` : ''}${failed} failed`,
                );
                if (skipped.length)
                  out.info(
                    `  up to date: published from the same input, SQL, keys, file count and engine version (--force reruns them anyway)`,
                  );
                if (held.length)
                  out.info(
                    `  held by a rollback, not rerun: ${held.join(', ')} (recount release ${analyzer.name} --partition ID, or --force, reruns them)`,
                  );
                const loads = results.flatMap((r) => (r.load ? [r.load] : []));
                if (loads.length) {
                  const done = loads.filter((l) => !l.error);
                  const owed = loads.length - done.length;
                  out.info(
                    `  loaded into ${loads[0]!.table} (${loads[0]!.warehouse}): ${done.length} partition(s), ${thousands(done.reduce((n, l) => n + (l.rows ?? 0), 0))} rows` +
                      (owed ? `; ${owed} not loaded: recount load ${analyzer.name} --pending` : ''),
                  );
                  for (const l of loads) if (l.error) out.warn(loadWarning(l));
                }
                if (failures.length) {
                  const t = table(['partition', 'error', 'message']);
                  for (const f of failures) t.push([f.partition, f.error!.code, wrap(f.error!.message, 90)]);
                  out.info(t.toString());
                  out.info('rerun a failed partition with: recount run ' + analyzer.name + ' --partition <id>');
                }
              },
            );
            return failed ? 1 : 0;
          }),
      ),
    );
}
