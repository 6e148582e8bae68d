import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { Dataset } from '../catalog/dataset.ts';
import type { Partition } from '../catalog/partition.ts';
import type { Project } from '../config/project.ts';
import type { Logger } from '../log.ts';
import { markersUnder, partitionOfMarker } from './discovery.ts';

/** When a new folder's markers are looked up again, after the one look at once (see onFolder). */
const FOLDER_LOOK_AGAIN_MS = [500, 2_000, 10_000];

/** What the watcher reports: a partition landed, or datasets are now watched (rescan what landed meanwhile). */
export interface WatcherEvents {
  readonly landed: (dataset: Dataset, partition: Partition) => void;
  readonly watched: (datasets: readonly Dataset[]) => void;
  readonly stopping: () => boolean;
}

/** File watchers of dataset roots (the ones there at start, then one per root that appeared later) and of definitions. */
export class DatasetWatcher {
  private readonly watchers: FSWatcher[] = [];
  private readonly watchedRoots = new Set<string>();
  private watching = false;
  private definitionWatcher: FSWatcher | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly project: Project,
    private readonly log: Logger,
    private readonly events: WatcherEvents,
  ) {}

  start(): void {
    this.watching = true;
    // chokidar never notices a root that does not exist yet: those are added by watchNewRoots on a rescan.
    const existing = [...this.project.datasets.values()].filter((d) => !d.producer && existsSync(d.root));
    for (const d of existing) this.watchedRoots.add(d.root);
    this.watchDatasets(existing, () =>
      this.log.info({ datasets: existing.map((d) => d.name) }, 'watching dataset folders'),
    );
    // Definitions are read once, at start (workers load the same ones): an edit must not pass unnoticed.
    this.definitionWatcher = watch([join(this.project.dir, 'analyzers'), join(this.project.dir, 'recount.config.ts')], {
      ignoreInitial: true,
      depth: 2,
    });
    const onDefinition = (path: string) =>
      this.log.warn(
        { file: relative(this.project.dir, path) },
        'a definition changed on disk; restart recount serve to use it (analyzers and config are read at start)',
      );
    this.definitionWatcher.on('add', onDefinition).on('change', onDefinition).on('unlink', onDefinition);
  }

  /** Watch source roots that appeared since the daemon started (the first partitions of a new dataset). */
  watchNewRoots(): void {
    if (!this.watching) return;
    for (const d of this.project.datasets.values()) {
      if (d.producer || this.watchedRoots.has(d.root) || !existsSync(d.root)) continue;
      this.watchedRoots.add(d.root);
      this.watchDatasets([d], () =>
        this.log.info({ dataset: d.name, root: d.root }, 'dataset folder appeared; watching it'),
      );
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.watchers.map((w) => w.close()));
    await this.definitionWatcher?.close();
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /**
   * Watch datasets' roots for partitions landing: a `_SUCCESS` written or copied in, and a partition folder (or a
   * whole dt= folder) renamed into place with its `_SUCCESS` already inside. chokidar misses what lands before it
   * has walked the folders (its 'ready'), so only then is a dataset reported as watched, and its readers are
   * scanned once more: a partition that landed meanwhile is queued now, not at the next periodic rescan.
   */
  private watchDatasets(datasets: readonly Dataset[], onReady: () => void): void {
    if (datasets.length === 0) return;
    const watcher = watch(
      datasets.map((d) => d.root),
      { ignoreInitial: true, depth: 3, ignored: (p: string) => /\/\.[^/]*$/.test(p) },
    );
    this.watchers.push(watcher);
    const datasetOf = (path: string) => datasets.find((d) => path.startsWith(`${d.root}/`));
    const onMarker = (path: string) => {
      if (!path.endsWith('_SUCCESS')) return;
      const ds = datasetOf(path);
      const p = ds && partitionOfMarker(ds, path.slice(ds.root.length + 1));
      if (!ds || !p) return;
      this.log.debug({ dataset: ds.name, partition: p.id }, 'partition ready');
      this.events.landed(ds, p);
    };
    // A folder renamed into place arrives whole: its markers are looked up at once rather than left to the
    // events chokidar may or may not send for the files inside it. chokidar reads a new folder before it watches
    // it, so a file written in between (a partition copied in file by file, _SUCCESS last, right after its mkdir)
    // sends no event: the folder is looked at again once chokidar has surely started watching it.
    const onFolder = (path: string) => {
      const ds = datasetOf(path);
      if (!ds) return;
      const seen = new Set<string>();
      const look = () => {
        if (this.events.stopping()) return;
        for (const marker of markersUnder(ds, path.slice(ds.root.length + 1)))
          if (!seen.has(marker)) {
            seen.add(marker);
            onMarker(join(ds.root, marker));
          }
      };
      look();
      for (const ms of FOLDER_LOOK_AGAIN_MS) this.later(look, ms);
    };
    watcher.on('add', onMarker).on('change', onMarker).on('addDir', onFolder);
    watcher.on('ready', () => {
      if (this.events.stopping()) return;
      onReady();
      this.events.watched(datasets);
    });
  }
}
