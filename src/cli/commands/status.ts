import type { Command } from 'commander';
import { parsePartition } from '../../catalog/partition.ts';
import { getAnalyzer } from '../../config/project.ts';
import { action } from '../command.ts';
import type { Output } from '../output.ts';
import { type CliSession, withSession } from '../session.ts';
import { showAnalyzers } from './status/analyzersView.ts';
import { showEngineVersions } from './status/engineVersions.ts';
import { showPartitions } from './status/partitionsView.ts';
import { showPartition } from './status/partitionView.ts';

/** The options of `recount status`. */
interface StatusOptions {
  partition?: string;
  engineVersion?: string;
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
      action(async (out, g, name: string | undefined, opts: StatusOptions) =>
        withSession(g.project, (s) => showStatus(out, s, name, opts)),
      ),
    );
}

/** The view the arguments ask for: engine provenance, every analyzer, one analyzer's partitions, or one partition. */
async function showStatus(out: Output, s: CliSession, name: string | undefined, opts: StatusOptions): Promise<number> {
  if (opts.engineVersion) return showEngineVersions(out, s, opts.engineVersion, name);
  if (!name) return showAnalyzers(out, s);
  const analyzer = getAnalyzer(s.project, name);
  if (!opts.partition) return showPartitions(out, s, analyzer);
  return showPartition(out, s, analyzer, parsePartition(opts.partition, analyzer.grain));
}
