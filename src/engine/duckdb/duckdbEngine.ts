import { mkdirSync } from 'node:fs';
import type { DuckDBInstance } from '@duckdb/node-api';
import { attemptLimits, openDuckDB } from './settings.ts';
import type { Engine, EngineOptions, EngineSession } from '../engine.ts';
import { lit } from '../sql.ts';
import { DuckDBSession } from './duckdbSession.ts';

/**
 * The limits each instance runs with now: set when it was created, changed by an attempt that needed others. Only a
 * changed limit is set again (setting memory_limit on an instance that holds buffers costs milliseconds); no SQL of an
 * analyzer can change them, since an analyzer is one query.
 */
const currentLimits = new WeakMap<DuckDBInstance, Record<string, string>>();

/** The statements that set what differs from the instance's current limits (forgotten until they ran: see below). */
function limitStatements(instance: DuckDBInstance, limits: Record<string, string>): string[] {
  const current = currentLimits.get(instance) ?? {};
  currentLimits.delete(instance);
  return Object.entries(limits)
    .filter(([name, value]) => current[name] !== value)
    .map(([name, value]) => `SET GLOBAL ${name} = ${lit(value)}`);
}

/** At most this many instances wait for the next attempts (one per attempt that ran at the same time). */
const MAX_IDLE = 4;

/** How long an instance no attempt uses is kept for the next one before it is closed. */
const IDLE_CLOSE_MS = 10_000;

/**
 * DuckDB through @duckdb/node-api: each attempt gets its own session with its own memory limit, threads, spill
 * folder and catalog. Attempts one after another (a backfill, a worker) share one in-memory instance: starting an
 * instance cost more than the query of a small partition. The limits are set on it for each attempt (I6), the
 * attempt's catalog is attached for it and detached after, and its connections are new. An instance is not reused
 * after any statement of its attempt failed (out of memory among them), nor after it spilled (DuckDB cannot move
 * its spill folder then); a second attempt at the same time gets an instance of its own, kept after for the next.
 */
export class DuckDBEngine implements Engine {
  readonly name = 'duckdb';
  /** Instances no attempt uses now, newest last, each closed when unused for IDLE_CLOSE_MS. */
  private readonly idle: { instance: DuckDBInstance; timer: NodeJS.Timeout }[] = [];
  private released: Promise<void> = Promise.resolve();
  private sessions = 0;
  private version: string | undefined;

  async open(options: EngineOptions): Promise<EngineSession> {
    mkdirSync(options.spillDir, { recursive: true });
    // The previous attempt's session may still be resetting its instance.
    await this.released;
    const reused = this.takeIdle();
    if (reused) {
      try {
        return await this.session(reused, options);
      } catch {
        reused.closeSync();
      }
    }
    const instance = await openDuckDB({ kind: 'attempt', ...options });
    currentLimits.set(instance, attemptLimits(options));
    try {
      return await this.session(instance, options);
    } catch (err) {
      instance.closeSync();
      throw err;
    }
  }

  private async session(instance: DuckDBInstance, options: EngineOptions): Promise<EngineSession> {
    const conn = await instance.connect();
    try {
      const limits = attemptLimits(options);
      const catalog = `recount_attempt_${++this.sessions}`;
      // One round trip: the limits that differ, the attempt's catalog attached and made the default, the version.
      const [row] = (
        await conn.runAndReadAll(
          [
            ...limitStatements(instance, limits),
            `ATTACH ':memory:' AS ${catalog}`,
            `USE ${catalog}`,
            'SELECT version() AS v',
          ].join('; '),
        )
      ).getRowObjectsJson();
      // Known only once they are set: a failure above leaves the instance's limits unknown, so all are set again.
      currentLimits.set(instance, limits);
      this.version ??= String(row?.v ?? 'unknown');
      return new DuckDBSession(instance, conn, this.version, catalog, options.threads, {
        closing: (released) => (this.released = released),
        done: (i, reusable) => this.giveBack(i, reusable),
      });
    } catch (err) {
      conn.closeSync();
      throw err;
    }
  }

  private takeIdle(): DuckDBInstance | undefined {
    const idle = this.idle.pop();
    if (idle) clearTimeout(idle.timer);
    return idle?.instance;
  }

  // Attempts side by side (backfill --parallel) each hand an instance back: up to MAX_IDLE wait for the next ones.
  private giveBack(instance: DuckDBInstance, reusable: boolean): void {
    if (!reusable || this.idle.length >= MAX_IDLE) {
      instance.closeSync();
      return;
    }
    const entry = {
      instance,
      timer: setTimeout(() => {
        const i = this.idle.indexOf(entry);
        if (i >= 0) this.idle.splice(i, 1)[0]!.instance.closeSync();
      }, IDLE_CLOSE_MS),
    };
    entry.timer.unref();
    this.idle.push(entry);
  }

  /** Close the instances kept for the next attempts (a process that is done with attempts). */
  async closeIdle(): Promise<void> {
    await this.released;
    for (let i = this.takeIdle(); i; i = this.takeIdle()) i.closeSync();
  }
}
