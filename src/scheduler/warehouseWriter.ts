import type { Analyzer, Project } from '../config/project.ts';
import type { Logger } from '../log.ts';
import { BatchQueue } from '../batchQueue.ts';
import type { StateStore } from '../state/store.ts';
import { type LoadOutcome, loadVersions, MAX_LOADS_PER_TRANSACTION, type VersionLoad } from '../warehouse/loader.ts';
import { openWarehouse } from '../warehouse/open.ts';
import { parseWarehouseUrl } from '../warehouse/url.ts';
import type { KnownFiles } from '../warehouse/versionSource.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/** A load the writer was asked for. */
interface Owed {
  readonly analyzer: Analyzer;
  readonly partition: string;
  readonly version: number;
  readonly begun: boolean;
  readonly known: KnownFiles | undefined;
}

/** How long the file stays open after the last load, for the next one: loads of a catch-up come back to back. */
const IDLE_CLOSE_MS = 1_000;

/**
 * The daemon as the one writer of a DuckDB warehouse file. DuckDB lets one process at a time write a file, so
 * workers that each opened it for their own load took turns at its lock, and each paid the open and the close.
 * Under `serve`, a worker publishes and leaves the version's load owed (recorded pending with the attempt's
 * outcome); the daemon loads it here through one open warehouse, kept open while loads keep coming and closed a
 * second after the last (other programs can open the file between bursts). Loads that arrive while one runs wait,
 * and go in together as one transaction with one commit (the commit was a third of a small load). A load that
 * fails stays owed, as any load, and the load retrier takes it up. A PostgreSQL warehouse takes loads from many
 * processes at once: its loads stay in the workers.
 */
export class WarehouseWriter {
  private readonly queue = new BatchQueue<Owed, LoadOutcome | undefined>(
    (owed) => this.loadNow(owed),
    MAX_LOADS_PER_TRANSACTION,
  );
  /** `analyzer/partition` of the loads queued or running here. */
  private readonly keys = new Set<string>();
  private warehouse: Promise<Warehouse> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly ownsFile: boolean;

  constructor(
    private readonly project: Project,
    private readonly store: StateStore,
    private readonly log: Logger,
  ) {
    this.ownsFile = parseWarehouseUrl(project.warehouseUrl, project.dir).kind === 'duckdb';
  }

  /** Whether this writer loads the analyzer's versions (it has a load, and the warehouse is a DuckDB file). */
  owns(analyzer: Analyzer): boolean {
    return this.ownsFile && analyzer.load !== undefined;
  }

  /** Whether a load of `analyzer/partition` is queued or running here. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /**
   * Queue the load of a published version; settles with its outcome when it is done, never rejects (a load that
   * failed is recorded by the load itself; the caller logs it). `begun`: the attempt recorded it as pending already;
   * `known`: the sha256 of its files as the worker that wrote them computed them (the load then reads them once).
   */
  load(
    analyzer: Analyzer,
    partition: string,
    version: number,
    begun = false,
    known?: KnownFiles,
  ): Promise<LoadOutcome | undefined> {
    const key = `${analyzer.name}/${partition}`;
    this.keys.add(key);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return this.queue.add({ analyzer, partition, version, begun, known }).finally(() => {
      this.keys.delete(key);
      if (this.keys.size === 0) this.closeWhenIdle();
    });
  }

  private async loadNow(owed: readonly Owed[]): Promise<(LoadOutcome | undefined)[]> {
    try {
      const loads: (VersionLoad | undefined)[] = [];
      for (const o of owed) {
        const v = await this.store.getVersion(o.analyzer.name, o.partition, o.version);
        loads.push(
          v && { analyzer: o.analyzer, version: v, opts: { begun: o.begun ? o.version : undefined, known: o.known } },
        );
      }
      // Opened once for a burst of loads. When it cannot be opened, each load opens it itself, and so records
      // the failure as any load does (pending, with the error, retried).
      this.warehouse ??= openWarehouse(this.project.warehouseUrl, this.project.dir);
      const warehouse = await this.warehouse.catch(() => (this.warehouse = undefined));
      const ctx = { project: this.project, store: this.store, ...(warehouse ? { warehouse } : {}) };
      const outcomes = await loadVersions(
        ctx,
        loads.filter((l) => l !== undefined),
      );
      return loads.map((l) => (l ? outcomes.shift() : undefined));
    } catch (err) {
      const o = owed[0]!;
      this.log.warn(
        { err, analyzer: o.analyzer.name, partition: o.partition, version: o.version, loads: owed.length },
        'load failed; it stays owed and is retried',
      );
      return owed.map(() => undefined);
    }
  }

  private closeWhenIdle(): void {
    this.idleTimer = setTimeout(() => void this.close(), IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  /** Close the warehouse once the loads queued so far are done (the daemon's stop; an idle second). */
  async close(): Promise<void> {
    await this.queue.idle();
    if (this.keys.size > 0) return;
    const warehouse = this.warehouse;
    this.warehouse = undefined;
    await (await warehouse?.catch(() => undefined))?.close();
  }
}
