import { InvalidArgumentError, type Command } from 'commander';
import { RecountError } from '../errors.ts';
import { Output } from './output.ts';

/** Options every command takes. */
export interface GlobalOptions {
  readonly project: string;
  readonly json: boolean;
}

/** The exit code of the command that ran. */
export const exit = { code: 0 };

/**
 * Wrap a command's action: give it the global options and an Output, turn any error into the right
 * message and exit code (0 success, 1 a run or check failed, 2 bad usage or configuration).
 */
export function action<A extends unknown[]>(
  fn: (out: Output, globals: GlobalOptions, ...args: A) => Promise<number | void>,
) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args.at(-1) as Command;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    const out = new Output(Boolean(globals.json));
    try {
      exit.code =
        (await fn(
          out,
          { project: globals.project ?? '.', json: Boolean(globals.json) },
          ...(args.slice(0, -1) as A),
        )) ?? 0;
    } catch (err) {
      exit.code = out.error(err);
    }
  };
}

/**
 * Parse a whole number option of at least `min`, or throw commander's usage error naming it (exit 2).
 * Only digits: `Number()` alone would take '', '0x10' and '1e3'.
 */
export function wholeNumber(name: string, min: number) {
  return (value: string): number => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(
        `${name} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got '${value}'`,
      );
    }
    return n;
  };
}

/** Parse a whole number option, 0 included (`--port 0`, `--samples 0`); use wholeNumber(name, 1) where 0 means nothing. */
export function positiveInt(name: string) {
  return wholeNumber(name, 0);
}

/**
 * Adapt a parser that throws RecountError (a domain parser, e.g. a tolerance) to commander: commander only
 * turns InvalidArgumentError into a usage error; anything else escaped as a crash with a stack trace.
 */
export function usageParser<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

/** True when --json was asked for anywhere on the command line (commander may not have parsed it yet). */
function wantsJson(cmd: Command): boolean {
  return Boolean((cmd.optsWithGlobals() as { json?: boolean }).json) || process.argv.includes('--json');
}

/**
 * Under --json, print commander's usage errors (unknown option, bad value, missing argument) as the same
 * JSON error document as every other error, on stdout; without it, commander's text on stderr as before.
 */
export function jsonUsageErrors(cmd: Command): Command {
  return cmd.configureOutput({
    outputError: (text, write) => {
      if (!wantsJson(cmd)) return write(text);
      const message = text.trim().replace(/^error:\s*/, '');
      const error = new RecountError('USAGE', message, {
        subject: `recount ${cmd.name()}`,
        hint: `recount ${cmd.name()} --help shows the usage`,
      });
      process.stdout.write(`${JSON.stringify({ ok: false, error: error.toJSON() }, null, 2)}\n`);
    },
  });
}
