import { Command, CommanderError, Help } from 'commander';
import { RECOUNT_VERSION } from '../version.ts';
import { RecountError } from '../errors.ts';
import { exit, jsonUsageErrors } from './command.ts';

/** How `recount --help` lists a command without loading it: its usage and its one line of description. */
interface CommandOverview {
  readonly term: string;
  readonly description: string;
}

/**
 * Every command, in the order `recount --help` lists them. A command's module, `commands/<name>.ts` (and what it
 * needs: DuckDB, SQLite, PostgreSQL, the project's TypeScript), is imported only when that command runs, so
 * `recount --help` and `recount init` start in a fraction of the time. The overview's lines are kept here; a test
 * checks them against the commands' own declarations.
 */
export const COMMANDS: Record<string, CommandOverview> = {
  init: {
    term: 'init [dir]',
    description: 'create a project: recount.config.ts, dataset events at data/events, two example analyzers',
  },
  gen: { term: 'gen [options] <kind>', description: 'generate deterministic synthetic data sets' },
  run: {
    term: 'run [options] <analyzer>',
    description: 'run an analyzer on one partition and publish the result atomically',
  },
  backfill: {
    term: 'backfill [options] <analyzer>',
    description: 'run an analyzer over a range of partitions; a failed partition is reported, the rest still run',
  },
  status: {
    term: 'status [options] [analyzer]',
    description: 'show analyzers, their partitions, versions, attempts and check results',
  },
  rollback: {
    term: 'rollback [options] <analyzer>',
    description: 'publish an older kept version of a partition again (atomically)',
  },
  release: {
    term: 'release [options] <analyzer>',
    description:
      'release a partition a rollback holds: recount serve and backfill rerun it again when its definition changed',
  },
  recover: {
    term: 'recover',
    description:
      'finish publishes interrupted by a crash and remove orphaned staging (every command does this on start)',
  },
  demo: {
    term: 'demo [options]',
    description: 'generate a day of ad-tech events, run both example analyzers, and show the result',
  },
  serve: {
    term: 'serve [options]',
    description: 'run as a daemon: watch inputs, queue runs, run them in worker processes with retries',
  },
  diff: {
    term: 'diff [options] <analyzer>',
    description:
      'compare two versions of a partition row by row, joined on the keys (default: the one published before, and the published one)',
  },
  shadow: {
    term: 'shadow [options] [analyzer]',
    description:
      'run a candidate definition over production inputs into a shadow namespace and diff every partition against production',
  },
  audit: {
    term: 'audit [options] [analyzers...]',
    description:
      'run a partition N times with different thread counts in a scratch namespace and report what differs between runs; lint the SQL. With --engines, run analyzers on each engine and report whether they agree',
  },
  doctor: {
    term: 'doctor [options]',
    description:
      'check the config, every analyzer (EXPLAIN and lint), free disk, state-store integrity and engine versions against known engine bugs; changes nothing',
  },
  gc: {
    term: 'gc [options]',
    description:
      'remove versions beyond K per partition, old shadow namespaces, kept audit runs and stale staging; never the published or loaded version',
  },
  load: {
    term: 'load [options] [analyzer]',
    description: 'load published versions into the warehouse table of an analyzer (each partition in one transaction)',
  },
  monitor: {
    term: 'monitor [options] [analyzer]',
    description:
      'check every loaded warehouse table, per partition: duplicate keys, missing, extra or changed rows, versions that are no longer published, columns changed by hand; exit 1 when anything is wrong',
  },
  files: {
    term: 'files [options] <analyzer>',
    description: "print the exact files of a partition's published version (real paths inside its version folder)",
  },
};

/** A command's registration: `register<Name>` of its module `commands/<name>.ts`, imported now. */
async function loadCommand(name: string): Promise<(program: Command) => void> {
  // One template for every command: the bundler makes each file under commands/ a chunk of its own, loaded here.
  const module = (await import(`./commands/${name}.ts`)) as Record<string, unknown>;
  const exportName = `register${name.charAt(0).toUpperCase()}${name.slice(1)}`;
  const register = module[exportName];
  if (typeof register !== 'function')
    throw new RecountError('INTERNAL', `src/cli/commands/${name}.ts exports no ${exportName}`, {
      subject: `src/cli/commands/${name}.ts`,
      hint: `export function ${exportName}(program: Command) from it, as every command does`,
    });
  return register as (program: Command) => void;
}

function baseProgram(): Command {
  return (
    new Command('recount')
      .description(
        'Run SQL analyzers over time-partitioned data on DuckDB, with exactly-once, deterministic Parquet output.',
      )
      // Not .version(): commander reads program options after a command too, so it would swallow `rollback --version V`.
      .addHelpText('after', '\nrecount --version (or -V) prints the version.')
      .option('--project <dir>', 'project folder holding recount.config.ts', process.env.RECOUNT_PROJECT ?? '.')
      .option('--json', 'print one JSON document instead of text')
      .showHelpAfterError('(run with --help for usage)')
      .exitOverride()
  );
}

function finish(program: Command): Command {
  // Every command's usage errors (a missing --partition, a bad number) are a JSON document under --json too.
  for (const cmd of program.commands) jsonUsageErrors(cmd.exitOverride());
  return program;
}

/** Build the recount command line with every command declared in full (imports every command's module). */
export async function buildProgram(): Promise<Command> {
  const program = baseProgram();
  for (const name of Object.keys(COMMANDS)) (await loadCommand(name))(program);
  return finish(program);
}

/**
 * Build the command line for one invocation: the named command in full, or, when no known command is named
 * (`recount --help`, a typo), every command as a one-line entry of the overview, loading none of them.
 */
export async function programFor(args: readonly string[]): Promise<Command> {
  const program = baseProgram();
  const name = commandName(args);
  if (name !== undefined && Object.hasOwn(COMMANDS, name)) (await loadCommand(name))(program);
  else {
    for (const [n, e] of Object.entries(COMMANDS)) program.command(n).description(e.description);
    program.configureHelp({
      subcommandTerm(this: Help, cmd: Command) {
        return COMMANDS[cmd.name()]?.term ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    });
  }
  return finish(program);
}

/** Run the CLI; resolves to the exit code (0 success, 1 a run or check failed, 2 bad usage or configuration). */
export async function main(argv: string[]): Promise<number> {
  exit.code = 0;
  if (wantsVersion(argv.slice(2))) {
    process.stdout.write(`${RECOUNT_VERSION}\n`);
    return 0;
  }
  try {
    await (await programFor(argv.slice(2))).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return 0;
      return 2;
    }
    throw err;
  }
  return exit.code;
}

/** The command a command line names (`help <command>` names that command), skipping the program's own options. */
function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--project') i++;
    else if (!a.startsWith('-')) return a === 'help' ? args.slice(i + 1).find((x) => !x.startsWith('-')) : a;
  }
  return undefined;
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
