import pc from 'picocolors';
import { asRecountError, type RecountError } from '../errors.ts';

/** How a command talks to the user: human text on a terminal, or one JSON document with --json. */
export class Output {
  constructor(readonly json: boolean) {}

  /** A line for humans (suppressed under --json). */
  info(text: string): void {
    if (!this.json) process.stdout.write(`${text}\n`);
  }

  /** A warning, always on stderr. */
  warn(text: string): void {
    process.stderr.write(`${pc.yellow('warning:')} ${text}\n`);
  }

  /** The command's result: printed as JSON under --json, else by the given renderer. */
  result(value: unknown, render: () => void): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else render();
  }

  /** Report an error: code, message, the thing at fault and what to do. */
  error(err: unknown): number {
    const e: RecountError = asRecountError(err);
    if (this.json) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: e.toJSON() }, null, 2)}\n`);
    } else {
      process.stderr.write(`${pc.red(`error [${e.code}]`)} ${e.message}\n`);
      if (e.subject) process.stderr.write(`  ${pc.dim('at:')}   ${e.subject}\n`);
      if (e.hint) process.stderr.write(`  ${pc.dim('hint:')} ${e.hint}\n`);
      if (e.code === 'INTERNAL' && e.stack && process.env.RECOUNT_DEBUG) process.stderr.write(`${e.stack}\n`);
    }
    return e.exitCode;
  }
}
