import { Command, CommanderError } from 'commander';
import { RECOUNT_VERSION } from '../version.ts';
import { exit, jsonUsageErrors } from './command.ts';
import { registerAudit } from './commands/audit.ts';
import { registerBackfill } from './commands/backfill.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDiff } from './commands/diff.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerGc } from './commands/gc.ts';
import { registerGen } from './commands/gen.ts';
import { registerInit } from './commands/init.ts';
import { registerLoad } from './commands/load.ts';
import { registerMonitor } from './commands/monitor.ts';
import { registerRecover } from './commands/recover.ts';
import { registerRelease } from './commands/release.ts';
import { registerRollback } from './commands/rollback.ts';
import { registerRun } from './commands/run.ts';
import { registerStatus } from './commands/status.ts';
import { registerServe } from './commands/serve.ts';
import { registerShadow } from './commands/shadow.ts';

/** Build the recount command line. */
export function buildProgram(): Command {
  const program = new Command('recount')
    .description('Run SQL analyzers over time-partitioned data on DuckDB, with exactly-once, deterministic Parquet output.')
    // Not .version(): commander reads program options after a command too, so it would swallow `rollback --version V`.
    .addHelpText('after', '\nrecount --version (or -V) prints the version.')
    .option('--project <dir>', 'project folder holding recount.config.ts', process.env.RECOUNT_PROJECT ?? '.')
    .option('--json', 'print one JSON document instead of text')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [registerInit, registerGen, registerRun, registerBackfill, registerStatus, registerRollback, registerRelease, registerRecover, registerDemo, registerServe, registerDiff, registerShadow, registerAudit, registerDoctor, registerGc]) register(program);
  for (const register of [registerLoad, registerMonitor]) register(program);
  // Every command's usage errors (a missing --partition, a bad number) are a JSON document under --json too.
  for (const cmd of program.commands) jsonUsageErrors(cmd.exitOverride());
  return program;
}

/** Run the CLI; resolves to the exit code (0 success, 1 a run or check failed, 2 bad usage or configuration). */
export async function main(argv: string[]): Promise<number> {
  exit.code = 0;
  if (wantsVersion(argv.slice(2))) {
    process.stdout.write(`${RECOUNT_VERSION}\n`);
    return 0;
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    throw err;
  }
  return exit.code;
}

// -V/--version before any command asks for recount's version; after a command it is that command's option.
function wantsVersion(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-V' || a === '--version') return true;
    if (a === '--project') i++;
    else if (!a.startsWith('-')) return false;
  }
  return false;
}
