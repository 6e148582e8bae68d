import type { Command } from 'commander';
import { type Partition, parsePartition, partitionRange } from '../../catalog/partition.ts';
import { type Analyzer, getAnalyzer } from '../../config/project.ts';
import { publishedWithEngine } from '../../doctor/provenance.ts';
import { RecountError } from '../../errors.ts';
import { action, wholeNumber } from '../command.ts';
import type { Output } from '../output.ts';
import { type CliSession, describeRecovery, withSession } from '../session.ts';
import { reportBackfill } from './backfill/backfillReport.ts';
import { runBackfill } from './backfill/runBackfill.ts';

/** The options of `recount backfill`. */
interface BackfillOptions {
  from?: string;
  to?: string;
  where?: string;
  force?: boolean;
  threads?: number;
  parallel?: number;
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
    .option(
      '--parallel <n>',
      'partitions run at once (default 1); each attempt keeps its own memory budget, so n of them need n times it',
      wholeNumber('--parallel', 1),
    )
    .action(
      action(async (out, g, name: string, opts: BackfillOptions) =>
        withSession(g.project, (s) => backfill(out, s, name, opts, g.json)),
      ),
    );
}

async function backfill(out: Output, s: CliSession, name: string, opts: BackfillOptions, json: boolean) {
  for (const l of describeRecovery(s.recovery)) out.warn(l);
  const analyzer = getAnalyzer(s.project, name);
  if ((opts.from === undefined) !== (opts.to === undefined) || (opts.from === undefined && !opts.where)) {
    throw new RecountError('USAGE', 'backfill needs --from and --to, or --where, or all three', {
      subject: 'recount backfill',
      hint: `recount backfill ${analyzer.name} --from ID --to ID, or --where engine-version=V`,
    });
  }
  const partitions = await partitionsToBackfill(s, analyzer, opts);
  const started = Date.now();
  // --where reruns exactly what matches, even though its input is unchanged.
  const force = Boolean(opts.force || opts.where);
  const outcome = await runBackfill(out, s, analyzer, partitions, {
    force,
    threads: opts.threads,
    json,
    parallel: opts.parallel,
  });
  reportBackfill(out, analyzer, partitions.length, outcome, Date.now() - started);
  return outcome.failed ? 1 : 0;
}

/** The partitions of --from/--to, narrowed by --where to those whose published version matches it. */
async function partitionsToBackfill(s: CliSession, analyzer: Analyzer, opts: BackfillOptions): Promise<Partition[]> {
  const range = opts.from !== undefined ? partitionRange(opts.from, opts.to!, analyzer.grain) : [];
  if (!opts.where) return range;
  // Provenance: exactly the partitions whose published version was made with that engine version.
  const matching = (await publishedWithEngine(s.store, parseWhere(opts.where).engineVersion, analyzer.name)).map(
    (v) => v.partition_id,
  );
  const inRange = new Set(range.map((p) => p.id));
  return matching
    .filter((id) => opts.from === undefined || inRange.has(id))
    .sort()
    .map((id) => parsePartition(id, analyzer.grain));
}

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
