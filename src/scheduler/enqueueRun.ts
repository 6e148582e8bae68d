import type { Analyzer, Project } from '../config/project.ts';
import type { Partition } from '../catalog/partition.ts';
import type { Logger } from '../log.ts';
import { combinedFingerprint, layoutChange, layoutMatches, resolveInputs } from '../run/fingerprint.ts';
import { checkHold } from '../run/hold.ts';
import type { EnqueueRequest as QueueRequest } from '../state/queueStore.ts';
import type { StateStore } from '../state/store.ts';
import { DEFAULT_RETRY } from './retry.ts';

/** Who enqueues: the daemon (with a log) or the dashboard (without). */
export interface EnqueueContext {
  readonly project: Project;
  readonly store: StateStore;
  readonly log?: Logger;
}

/**
 * A request to run one partition. Without a reason it is discovery's: queued only when the partition is stale
 * (new data, changed input, SQL or layout) and not held by a rollback, with the reason found. With one
 * ('schedule', 'manual', 'backfill') it is queued whatever was published (the dispatcher still skips a
 * 'schedule' or 'backfill' run that is up to date or held when it comes up; 'manual' runs regardless).
 */
export interface EnqueueRequest {
  readonly reason?: 'schedule' | 'manual' | 'backfill';
  /** Queue even after a failure with the same input and definition (a person asked for it). */
  readonly force?: boolean;
}

/** What enqueueing did; `error` says why inputs are not ready. */
export type EnqueueResult =
  | { readonly state: 'queued' | 'busy' | 'up-to-date' | 'held' }
  | { readonly state: 'not-ready'; readonly error: unknown };

type Stale = { reason: string; why?: string } | { held: true } | undefined;

/** Why a partition whose inputs have `fingerprint` should run again, or undefined when it is up to date. */
async function staleness(ctx: EnqueueContext, a: Analyzer, p: Partition, fingerprint: string): Promise<Stale> {
  // A rollback holds the partition at its version, whatever the definition says now, until new input or a release.
  const hold = await checkHold(ctx.store, ctx.project, a, p, fingerprint);
  if (hold.state === 'held') return { held: true };
  if (hold.state === 'released')
    ctx.log?.info(
      { analyzer: a.name, partition: p.id, heldVersion: hold.seq },
      `hold of a rollback released: ${hold.reason}`,
    );
  const published = await ctx.store.publishedVersion(a.name, p.id);
  if (!published) return { reason: 'new-data' };
  if (published.input_fingerprint !== fingerprint) return { reason: 'changed-input' };
  if (published.sql_hash !== a.sqlHash) return { reason: 'changed-sql' };
  if (layoutMatches(a, published.dir)) return undefined;
  return {
    reason: 'changed-layout',
    why: `v${published.seq}: ${layoutChange(a, published.dir) ?? 'laid out otherwise'}`,
  };
}

/** A run to queue, with what to log about it, or what stops it from being queued. */
type Planned =
  | { readonly queue: QueueRequest; readonly why?: string }
  | { readonly state: 'up-to-date' | 'held' }
  | { readonly state: 'not-ready'; readonly error: unknown };

/** Whether and why a partition would be queued (enqueueRun), without queueing it. */
async function planRun(ctx: EnqueueContext, a: Analyzer, p: Partition, request: EnqueueRequest): Promise<Planned> {
  let fingerprint: string;
  try {
    fingerprint = combinedFingerprint(resolveInputs(ctx.project, a, p));
  } catch (error) {
    return { state: 'not-ready', error };
  }
  let reason: string;
  let why: string | undefined;
  if (request.reason) reason = request.reason;
  else {
    const stale = await staleness(ctx, a, p, fingerprint);
    if (!stale) return { state: 'up-to-date' };
    if ('held' in stale) return { state: 'held' };
    ({ reason, why } = stale);
  }
  const queue = {
    analyzer: a.name,
    partitionId: p.id,
    reason,
    maxAttempts: (a.retries ?? DEFAULT_RETRY).max,
    sqlHash: a.definitionHash,
    inputFingerprint: fingerprint,
  };
  return why ? { queue, why } : { queue };
}

function logQueued(ctx: EnqueueContext, q: QueueRequest, why: string | undefined): void {
  const at = { analyzer: q.analyzer, partition: q.partitionId, reason: q.reason };
  // A layout change reruns a partition whose input and SQL did not change: say why (an engine upgrade, say).
  if (why) ctx.log?.warn({ ...at, why }, `queued: layout changed (${why})`);
  else ctx.log?.info(at, 'queued');
}

/** The one way a run is queued, by the daemon's discovery and by the dashboard's actions alike. */
export async function enqueueRun(
  ctx: EnqueueContext,
  a: Analyzer,
  p: Partition,
  request: EnqueueRequest = {},
): Promise<EnqueueResult> {
  const planned = await planRun(ctx, a, p, request);
  if (!('queue' in planned)) return planned;
  const item = await ctx.store.queue.enqueue(planned.queue, request.force ? { force: true } : {});
  if (!item) return { state: 'busy' };
  logQueued(ctx, planned.queue, planned.why);
  return { state: 'queued' };
}

/** Partitions whose runs discovery queues in one transaction. */
const ENQUEUE_BATCH = 256;

/**
 * Discovery's runs of many partitions of one analyzer, as enqueueRun queues each without a reason, queued
 * `ENQUEUE_BATCH` at a time in one transaction each: a scan that finds a backlog of hours costs a few commits, not
 * one per partition (each a blocking fsync of the daemon's state store).
 */
export async function enqueueRuns(ctx: EnqueueContext, a: Analyzer, parts: readonly Partition[]): Promise<void> {
  for (let i = 0; i < parts.length; i += ENQUEUE_BATCH) {
    const planned: { queue: QueueRequest; why?: string }[] = [];
    for (const p of parts.slice(i, i + ENQUEUE_BATCH)) {
      const plan = await planRun(ctx, a, p, {});
      if ('queue' in plan) planned.push(plan);
    }
    const items = await ctx.store.queue.enqueueMany(planned.map((x) => x.queue));
    for (const [j, item] of items.entries()) if (item) logQueued(ctx, planned[j]!.queue, planned[j]!.why);
  }
}
