import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLI, type TestProject } from './project.ts';

/** A `recount serve` child process under test. */
export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything it logged (JSON lines). */
  logs(): Record<string, any>[];
  /** Stop with SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** Kill with SIGKILL and wait. */
  kill(): Promise<void>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `recount serve` for a project in a child process, logging JSON. */
export function startServe(tp: TestProject, args: string[] = [], env: Record<string, string> = {}): ServeProcess {
  const child = spawn(process.execPath, [CLI, '--project', tp.dir, 'serve', '--scan-interval', '400', ...args], {
    env: { ...process.env, RECOUNT_LOG_FORMAT: 'json', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  const lines: Record<string, any>[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  child.stdout!.resume();
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    logs: () => lines,
    exited: () => exit,
    async stop() {
      child.kill('SIGTERM');
      return (await exit).code;
    },
    async kill() {
      child.kill('SIGKILL');
      await exit;
    },
  };
}

/** Poll until `check` returns a truthy value or the time runs out (then throw with `what`). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
