import type { Command } from 'commander';
import { DEFAULT_TOLERANCE, parseToleranceValue, type Tolerance } from '../diff/tolerance.ts';
import { usageParser } from './command.ts';

/** The `--abs` and `--rel` options as parsed: undefined when not given. */
export interface ToleranceCliOptions {
  abs?: number;
  rel?: number;
}

/** Add `--abs` and `--rel` (the float tolerance of a diff) to a command; every command that diffs takes them alike. */
export function toleranceOptions(cmd: Command): Command {
  return cmd
    .option(
      '--abs <x>',
      `absolute tolerance for FLOAT/DOUBLE columns (default ${DEFAULT_TOLERANCE.abs})`,
      usageParser(parseToleranceValue('--abs')),
    )
    .option(
      '--rel <x>',
      `relative tolerance for FLOAT/DOUBLE columns (default ${DEFAULT_TOLERANCE.rel})`,
      usageParser(parseToleranceValue('--rel')),
    );
}

/** The tolerance the options ask for, defaults filled in. */
export function toleranceOf(opts: ToleranceCliOptions): Tolerance {
  return { abs: opts.abs ?? DEFAULT_TOLERANCE.abs, rel: opts.rel ?? DEFAULT_TOLERANCE.rel };
}
