import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Analyzer, Project } from '../config/project.ts';
import type { Dataset } from '../catalog/dataset.ts';
import { coveringPartitions, parsePartition, type Partition } from '../catalog/partition.ts';
import { parseAnyPartition } from '../catalog/parseAny.ts';

const DT = /^dt=(\d{4}-\d{2}-\d{2})$/;
const HOUR = /^hour=(\d{2})$/;

/** Partition ids of a dataset that exist on disk (ready or not), from its Hive folders. */
export function listPartitionIds(ds: Dataset): string[] {
  if (!existsSync(ds.root)) return [];
  const ids: string[] = [];
  for (const d of readdirSync(ds.root)) {
    const day = DT.exec(d)?.[1];
    if (!day) continue;
    if (ds.grain === 'day') {
      ids.push(day);
      continue;
    }
    let hours: string[];
    try {
      hours = readdirSync(join(ds.root, d));
    } catch {
      continue;
    }
    for (const h of hours) {
      const hour = HOUR.exec(h)?.[1];
      if (hour) ids.push(`${day}T${hour}`);
    }
  }
  return ids.sort();
}

/** Map a partition of one grain onto the partitions of an analyzer's grain that read it. */
export function affectedPartitions(p: Partition, analyzer: Analyzer): Partition[] {
  if (p.grain === analyzer.grain) return [p];
  return coveringPartitions(p, analyzer.grain);
}

/** The earliest partition start `serve` considers for an analyzer: its `start`, else now minus the lookback. */
export function considerFrom(analyzer: Analyzer, lookbackHours: number, now = new Date()): Date {
  if (analyzer.start) return parseAnyPartition(analyzer.start).start;
  return new Date(now.getTime() - lookbackHours * 3_600_000);
}

/** Partitions of an analyzer that have at least one input partition on disk, from `since` on, oldest first. */
export function candidatePartitions(project: Project, analyzer: Analyzer, since: Date): Partition[] {
  const seen = new Map<string, Partition>();
  for (const name of analyzer.inputs) {
    const ds = project.datasets.get(name)!;
    for (const id of listPartitionIds(ds)) {
      for (const p of affectedPartitions(parsePartition(id, ds.grain), analyzer)) {
        if (p.start >= since && !seen.has(p.id)) seen.set(p.id, p);
      }
    }
  }
  return [...seen.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** Analyzers that read a dataset. */
export function readersOf(project: Project, dataset: string): Analyzer[] {
  return [...project.analyzers.values()].filter((a) => a.inputs.includes(dataset));
}

/** Parse a `.../dt=…/hour=…/_SUCCESS` path under a dataset root into the partition it marks. */
export function partitionOfMarker(ds: Dataset, relPath: string): Partition | undefined {
  const parts = relPath.split(/[\\/]/);
  const day = DT.exec(parts[0] ?? '')?.[1];
  if (!day) return undefined;
  if (ds.grain === 'day') return parts[1] === '_SUCCESS' ? parsePartition(day, 'day') : undefined;
  const hour = HOUR.exec(parts[1] ?? '')?.[1];
  return hour && parts[2] === '_SUCCESS' ? parsePartition(`${day}T${hour}`, 'hour') : undefined;
}

/**
 * The `_SUCCESS` markers (paths relative to the dataset root) inside a partition folder of a dataset, or inside a
 * dt= folder and its hour folders: what a folder renamed into place brings with it. Anything else: none.
 */
export function markersUnder(ds: Dataset, relDir: string): string[] {
  const parts = relDir.split(/[\\/]/).filter(Boolean);
  if (!DT.test(parts[0] ?? '')) return [];
  const has = (rel: string) => existsSync(join(ds.root, rel, '_SUCCESS'));
  if (ds.grain === 'day') return parts.length === 1 && has(parts[0]!) ? [`${parts[0]}/_SUCCESS`] : [];
  if (parts.length === 2) return HOUR.test(parts[1]!) && has(relDir) ? [`${parts[0]}/${parts[1]}/_SUCCESS`] : [];
  if (parts.length !== 1) return [];
  let hours: string[];
  try {
    hours = readdirSync(join(ds.root, parts[0]!));
  } catch {
    return [];
  }
  return hours.filter((h) => HOUR.test(h) && has(`${parts[0]}/${h}`)).map((h) => `${parts[0]}/${h}/_SUCCESS`);
}
