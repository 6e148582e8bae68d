import { InvalidArgumentError, type Command } from 'commander';
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
export function action<A extends unknown[]>(fn: (out: Output, globals: GlobalOptions, ...args: A) => Promise<number | void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args.at(-1) as Command;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    const out = new Output(Boolean(globals.json));
    try {
      exit.code = (await fn(out, { project: globals.project ?? '.', json: Boolean(globals.json) }, ...(args.slice(0, -1) as A))) ?? 0;
    } catch (err) {
      exit.code = out.error(err);
    }
  };
}

/** Parse a whole positive number option, or throw a USAGE error naming it. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError(`${name} must be a whole number, got '${value}'`);
    }
    return n;
  };
}
