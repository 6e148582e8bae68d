import { mkdirSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
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

async function applyLimits(instance: DuckDBInstance, conn: DuckDBConnection, limits: Record<string, string>) {
  const current = currentLimits.get(instance) ?? {};
  currentLimits.delete(instance);
  for (const [name, value] of Object.entries(limits))
    if (current[name] !== value) await conn.run(`SET GLOBAL ${name} = ${lit(value)}`);
  currentLimits.set(instance, limits);
}

/** How long an instance no attempt uses is kept for the next one before it is closed. */
const IDLE_CLOSE_MS = 10_000;

/**
 * DuckDB through @duckdb/node-api: each attempt gets its own session with its own memory limit, threads, spill
 * folder and catalog. Attempts one after another (a backfill, a worker) share one in-memory instance: starting an
 * instance cost more than the query of a small partition. The limits are set on it for each attempt (I6), the
 * attempt's catalog is attached for it and detached after, and its connections are new. An instance is not reused
 * after any statement of its attempt failed (out of memory among them), nor after it spilled (DuckDB cannot move
 * its spill folder then); a second attempt at the same time gets an instance of its own.
 */
export class DuckDBEngine implements Engine {
  readonly name = 'duckdb';
  private idle: { instance: DuckDBInstance; version: string } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
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
      await applyLimits(instance, conn, attemptLimits(options));
      if (!this.version) {
        const [row] = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJson();
        this.version = String(row?.v ?? 'unknown');
      }
      const catalog = `recount_attempt_${++this.sessions}`;
      await conn.run(`ATTACH ':memory:' AS ${catalog}`);
      await conn.run(`USE ${catalog}`);
      return new DuckDBSession(instance, conn, this.version, catalog, {
        closing: (released) => (this.released = released),
        done: (i, reusable) => this.giveBack(i, reusable),
      });
    } catch (err) {
      conn.closeSync();
      throw err;
    }
  }

  private takeIdle(): DuckDBInstance | undefined {
    const idle = this.idle;
    this.idle = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return idle?.instance;
  }

  private giveBack(instance: DuckDBInstance, reusable: boolean): void {
    if (!reusable || this.idle) {
      instance.closeSync();
      return;
    }
    this.idle = { instance, version: this.version ?? '' };
    this.idleTimer = setTimeout(() => this.takeIdle()?.closeSync(), IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  /** Close the instance kept for the next attempt (a process that is done with attempts). */
  async closeIdle(): Promise<void> {
    await this.released;
    this.takeIdle()?.closeSync();
  }
}
