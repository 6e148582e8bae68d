import type { CheckResult } from '../../checks/check.ts';
import type { Project } from '../../config/project.ts';
import type { Engine } from '../../engine/engine.ts';
import type { RecountError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import type { LoadOutcome } from '../../warehouse/loader.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/** What a run needs: the project, its state store and an engine. */
export interface RunContext {
  readonly project: Project;
  readonly store: StateStore;
  readonly engine: Engine;
  /** An open warehouse to load into after publish (a backfill opens it once); without it each load opens its own. */
  readonly warehouse?: Warehouse;
}

/** Options of one run of one partition. */
export interface RunOptions {
  readonly trigger?: string;
  readonly threads?: number;
  /** `threads` is the most the attempt uses: a small input runs on fewer (src/run/attemptThreads.ts). */
  readonly fitThreads?: boolean;
  readonly memoryBytes?: number;
  /** Accept an input column whose type changed since the published version. */
  readonly acceptSchemaChange?: boolean;
  /** Lose the publish if a rollback holds the partition (default: for the daemon's triggers and backfill; see src/run/hold.ts). */
  readonly respectHold?: boolean;
  /** Use this attempt id (a daemon names the attempt before handing it to a worker). */
  readonly attemptId?: string;
  /**
   * Publish and leave the warehouse load owed (recorded pending with the attempt's outcome) instead of loading: a
   * worker of `serve` whose daemon is the one writer of a DuckDB warehouse file (src/scheduler/warehouseWriter.ts).
   */
  readonly deferLoad?: boolean;
}

/** The result of one attempt. */
export interface AttemptResult {
  readonly analyzer: string;
  readonly partition: string;
  readonly attemptId: string;
  readonly status: 'succeeded' | 'failed' | 'superseded';
  readonly version?: number;
  readonly rows?: number;
  readonly files?: number;
  readonly bytes?: number;
  readonly keys?: string[];
  readonly checks: CheckResult[];
  readonly warnings: string[];
  readonly durationMs: number;
  readonly peakRssBytes: number;
  readonly spillBytes?: number;
  readonly duckdbPeakBytes?: number;
  readonly publishedPath?: string;
  /** sha256 of each published file, by name, from the bytes this attempt wrote: its load need not read them again. */
  readonly fileSha256?: Readonly<Record<string, string>>;
  /** The warehouse load that followed the publish (analyzers with `load`); a failed one leaves the publish in place. */
  readonly load?: LoadOutcome;
  readonly error?: RecountError;
}
