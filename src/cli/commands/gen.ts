import { resolve } from 'node:path';
import type { Command } from 'commander';
import { RecountError } from '../../errors.ts';
import { generateEvents } from '../../gen/events.ts';
import { action, positiveInt, wholeNumber } from '../command.ts';
import { duration } from '../format.ts';

/** `recount gen events ...`: deterministic synthetic ad-tech events. */
export function registerGen(program: Command): void {
  program
    .command('gen')
    .description('generate deterministic synthetic data sets')
    .argument('<kind>', "what to generate: 'events' (ad-tech events)")
    .requiredOption('--out <dir>', 'dataset root to write hourly partitions under')
    .option('--start <hour>', 'first hour', '2023-10-12T00')
    .option('--hours <n>', 'number of hours', wholeNumber('--hours', 1), 24)
    .option('--rows-per-hour <n>', 'events per hour', wholeNumber('--rows-per-hour', 1), 100_000)
    .option('--seed <n>', 'random seed: same seed, same events', positiveInt('--seed'), 1)
    .option('--ads <n>', 'distinct ad ids', wholeNumber('--ads', 1), 1000)
    .option('--skew', 'skewed ad popularity (a few ads get most events)')
    .action(
      action(
        async (
          out,
          g,
          kind: string,
          opts: {
            out: string;
            start: string;
            hours: number;
            rowsPerHour: number;
            seed: number;
            ads: number;
            skew?: boolean;
          },
        ) => {
          if (kind !== 'events')
            throw new RecountError('USAGE', `unknown data set kind '${kind}'`, {
              subject: kind,
              hint: 'recount gen events --out DIR ...',
            });
          const started = Date.now();
          const root = resolve(g.project, opts.out);
          const r = await generateEvents({
            out: root,
            start: opts.start,
            hours: opts.hours,
            rowsPerHour: opts.rowsPerHour,
            seed: opts.seed,
            ads: opts.ads,
            skew: opts.skew,
          });
          out.result({ ok: true, out: root, partitions: r.partitions, rows: r.rows }, () =>
            out.info(
              `wrote ${r.rows} events in ${r.partitions.length} hourly partitions (${r.partitions[0]} .. ${r.partitions.at(-1)}) under ${root} in ${duration(Date.now() - started)}`,
            ),
          );
        },
      ),
    );
}
