import { getAnalyzer, type Analyzer } from '../config/project.ts';
import { parsePartition, partitionRange, type Partition } from '../catalog/partition.ts';
import { OutputLayout } from '../commit/paths.ts';
import { rollbackPartition } from '../commit/rollback.ts';
import { currentInputFingerprint } from '../run/hold.ts';
import { RecountError } from '../errors.ts';
import { enqueueRun } from '../scheduler/enqueueRun.ts';
import type { DashboardContext } from './context.ts';

/** What an action did: a message for the page it redirects to. */
export interface ActionResult {
  readonly ok: boolean;
  readonly text: string;
  readonly location: string;
}

/** Most partitions one backfill may queue (a typo in a range must not queue a decade). */
export const MAX_BACKFILL = 20_000;

const partitionHref = (a: string, p: string) =>
  `/analyzers/${encodeURIComponent(a)}/partitions/${encodeURIComponent(p)}`;

function field(form: URLSearchParams, name: string): string {
  const v = form.get(name)?.trim();
  if (!v)
    throw new RecountError('USAGE', `the form has no '${name}'`, {
      subject: name,
      hint: 'submit the form from the dashboard page',
    });
  return v;
}

/** Queue a run of one partition into the daemon's queue (a person asked: even after a failure with the same input). */
async function enqueue(
  ctx: DashboardContext,
  a: Analyzer,
  p: Partition,
  reason: 'manual' | 'backfill',
): Promise<{ state: 'queued' | 'busy' | 'not-ready'; error?: unknown }> {
  const r = await enqueueRun(ctx, a, p, { reason, force: true });
  // With a reason given, enqueueRun neither skips an up-to-date partition nor a held one: the dispatcher does.
  if (r.state === 'not-ready') return r;
  return { state: r.state === 'queued' ? 'queued' : 'busy' };
}

/** Rerun one partition (reason 'manual': the daemon runs it even when it is up to date). */
export async function rerunAction(ctx: DashboardContext, form: URLSearchParams): Promise<ActionResult> {
  const a = getAnalyzer(ctx.project, field(form, 'analyzer'));
  const p = parsePartition(field(form, 'partition'), a.grain);
  const location = partitionHref(a.name, p.id);
  const r = await enqueue(ctx, a, p, 'manual');
  if (r.state === 'not-ready') {
    const e = r.error as RecountError;
    return { ok: false, text: `Not queued: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`, location };
  }
  ctx.kick?.();
  return r.state === 'queued'
    ? { ok: true, text: `Rerun of ${a.name} ${p.id} queued.`, location }
    : { ok: false, text: `${a.name} ${p.id} already has a run queued or running.`, location };
}

/** Queue every partition of a range whose inputs are ready ('backfill' skips those up to date unless forced). */
export async function backfillAction(ctx: DashboardContext, form: URLSearchParams): Promise<ActionResult> {
  const a = getAnalyzer(ctx.project, field(form, 'analyzer'));
  const location = `/analyzers/${encodeURIComponent(a.name)}`;
  const parts = partitionRange(field(form, 'from'), field(form, 'to'), a.grain);
  if (parts.length > MAX_BACKFILL) {
    return {
      ok: false,
      text: `That range holds ${parts.length.toLocaleString('en-US')} partitions; a backfill from the dashboard queues at most ${MAX_BACKFILL.toLocaleString('en-US')}. Split it, or use recount backfill.`,
      location,
    };
  }
  const reason = form.get('force') ? 'manual' : 'backfill';
  const n = { queued: 0, busy: 0, 'not-ready': 0 };
  for (const p of parts) n[(await enqueue(ctx, a, p, reason)).state]++;
  ctx.kick?.();
  const extra = [
    n.busy ? `${n.busy} already queued or running` : '',
    n['not-ready'] ? `${n['not-ready']} with inputs not ready` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return {
    ok: n.queued > 0,
    text: `Backfill of ${a.name} ${parts[0]!.id} → ${parts.at(-1)!.id}: ${n.queued} partition${n.queued === 1 ? '' : 's'} queued${reason === 'backfill' ? ' (those up to date are skipped when they come up)' : ''}${extra ? `; ${extra}` : ''}.`,
    location,
  };
}

/** Publish an older retained version again. */
export async function rollbackAction(ctx: DashboardContext, form: URLSearchParams): Promise<ActionResult> {
  const a = getAnalyzer(ctx.project, field(form, 'analyzer'));
  const p = parsePartition(field(form, 'partition'), a.grain);
  const version = Number(field(form, 'version'));
  if (!Number.isInteger(version) || version < 1)
    throw new RecountError('USAGE', `version '${form.get('version')}' is not a version number`, {
      subject: 'version',
      hint: 'pick a version from the partition page',
    });
  const r = await rollbackPartition(ctx.store, new OutputLayout(ctx.project.outputRoot), a.name, p.id, version, {
    holdInput: currentInputFingerprint(ctx.project, a, p),
  });
  // The warehouse mirrors the published version (I5): the version rolled back to is now a load owed, which
  // the daemon runs in a worker (never in its own process), like any other.
  if (a.load && r.from !== r.to) ctx.kick?.();
  const load = a.load && r.from !== r.to ? ` ${a.load.table} is loaded with v${r.to} by a worker next.` : '';
  return {
    ok: true,
    text:
      r.from === r.to
        ? `v${r.to} is already published.`
        : `Rolled back ${a.name} ${p.id} from v${r.from ?? '–'} to v${r.to}; held there until its input changes or it is released.${load}`,
    location: partitionHref(a.name, p.id),
  };
}

/** Release a rollback's hold on a partition: the daemon reruns it again when its definition or input changed. */
export async function releaseAction(ctx: DashboardContext, form: URLSearchParams): Promise<ActionResult> {
  const a = getAnalyzer(ctx.project, field(form, 'analyzer'));
  const p = parsePartition(field(form, 'partition'), a.grain);
  const released = await ctx.store.releaseHold(a.name, p.id);
  if (released !== null) ctx.kick?.();
  return {
    ok: released !== null,
    text: released === null ? `${a.name} ${p.id} is not held.` : `Released ${a.name} ${p.id} (held at v${released}).`,
    location: partitionHref(a.name, p.id),
  };
}

/** Resolve an alert by hand. */
export async function resolveAlertAction(ctx: DashboardContext, form: URLSearchParams): Promise<ActionResult> {
  const id = Number(field(form, 'id'));
  const resolution = 'resolved on the dashboard';
  const a = ctx.alerter
    ? await ctx.alerter.resolveById(id, resolution)
    : await ctx.store.observe.alerts.resolveById(id, resolution);
  return a
    ? { ok: true, text: `Alert ${id} resolved.`, location: '/alerts' }
    : { ok: false, text: `Alert ${id} is not open.`, location: '/alerts' };
}

/** Actions by path. */
export const ACTIONS: Record<string, (ctx: DashboardContext, form: URLSearchParams) => Promise<ActionResult>> = {
  '/actions/rerun': rerunAction,
  '/actions/backfill': backfillAction,
  '/actions/rollback': rollbackAction,
  '/actions/release': releaseAction,
  '/actions/resolve-alert': resolveAlertAction,
};
