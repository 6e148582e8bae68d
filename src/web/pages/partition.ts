import type { Analyzer } from '../../config/project.ts';
import type { Partition } from '../../catalog/partition.ts';
import { OutputLayout } from '../../commit/paths.ts';
import { isFailedStatus, type AttemptRow, type CheckResultRow } from '../../state/types.ts';
import { timeline } from '../charts.ts';
import { memoryChart } from '../memoryChart.ts';
import type { DashboardContext, PageContext } from '../context.ts';
import { between, bytes, count, duration, when } from '../format.ts';
import { html, type Html } from '../html.ts';
import { statusColor, STATE_STYLE } from '../states.ts';
import { actionForm, badge, layout } from './layout.ts';

/** Memory charts are drawn for this many of the newest attempts (older ones link to nothing heavier than a row). */
const CHARTED_ATTEMPTS = 5;

/** One partition: versions (with rollback), attempts (timeline, checks with failing rows, errors, memory charts), warehouse loads. */
export async function partitionPage(
  ctx: DashboardContext,
  pc: PageContext,
  a: Analyzer,
  p: Partition,
): Promise<string> {
  const { store, project } = ctx;
  const [partition, versions, attempts, active, loads, alerts] = await Promise.all([
    store.getPartition(a.name, p.id),
    store.listVersions(a.name, p.id),
    store.listAttempts({ analyzer: a.name, partitionId: p.id, limit: 30 }),
    store.observe.reads.activeQueue(a.name),
    store.observe.reads.loadsOf(a.name, p.id),
    store.observe.alerts.list({ status: 'open', analyzer: a.name, partition: p.id }),
  ]);
  const queued = active.get(p.id);
  const published = partition?.published_seq ?? null;
  const latest = attempts[0];
  const state =
    queued === 'running' || latest?.status === 'running'
      ? 'running'
      : queued === 'queued'
        ? 'queued'
        : latest && isFailedStatus(latest.status)
          ? published !== null
            ? 'stale_failed'
            : 'failed'
          : published !== null
            ? partition?.held_seq != null
              ? 'held'
              : 'published'
            : 'missing';
  const path = new OutputLayout(project.outputRoot).publishedPath(a.name, p);
  const analyzerHref = `/analyzers/${encodeURIComponent(a.name)}`;

  const versionRows = versions.map((v) => {
    const rollback =
      v.status === 'retained'
        ? actionForm(
            pc,
            '/actions/rollback',
            { analyzer: a.name, partition: p.id, version: v.seq },
            `Roll back to v${v.seq}`,
            { cls: 'danger' },
          )
        : '';
    return html`<tr><td><b>v${v.seq}</b></td><td>${badge(v.status, statusColor(v.status))}</td><td class="num">${count(v.rows)}</td><td class="num">${count(v.files)}</td><td class="num">${bytes(v.bytes)}</td><td>${when(v.created_at)}</td><td>${when(v.published_at)}</td><td class="mono">${v.attempt_id}</td><td>${rollback}</td></tr>`;
  });

  const items = [...attempts].reverse().map((x, i) => ({
    id: x.attempt_id,
    label: `#${i + 1} ${x.status}`,
    startMs: Date.parse(x.started_at),
    endMs: x.finished_at ? Date.parse(x.finished_at) : Date.now(),
    status: x.status,
  }));
  const details: Html[] = [];
  for (const [i, x] of attempts.entries()) {
    const checks = await store.checkResults(x.attempt_id);
    const samples = i < CHARTED_ATTEMPTS ? await store.observe.samples.forAttempt(x.attempt_id) : [];
    details.push(attemptDetail(ctx, x, checks, samples, attempts.length - i, i === 0));
  }

  const body = html`<div class="crumbs"><a href="/">Analyzers</a> / <a href="${analyzerHref}">${a.name}</a> /</div>
<h1 class="mono">${p.id}</h1>
<div class="sub">${badge(STATE_STYLE[state].label, STATE_STYLE[state].color)} &nbsp; published: <b>${published === null ? 'nothing yet' : `v${published}`}</b> at <span class="mono">${path}</span></div>
${partition?.held_seq != null ? html`<div class="row"><div>${actionForm(pc, '/actions/release', { analyzer: a.name, partition: p.id }, 'Release the hold')}</div><div class="muted" style="padding-top:6px">Held at <b>v${partition.held_seq}</b> by a rollback since ${when(partition.held_at)}: the daemon and backfill leave it there until its input changes or it is released.</div></div>` : ''}
<div class="row"><div>${actionForm(pc, '/actions/rerun', { analyzer: a.name, partition: p.id }, 'Rerun this partition', { cls: 'primary' })}</div>
<div class="muted" style="padding-top:6px">${queued ? html`A run is <b>${queued}</b>; this page refreshes until it is done.` : 'Queues a manual run; the daemon runs it even if the partition is up to date.'}</div></div>
${alerts.length ? html`<h2>Open alerts</h2><table><tbody>${alerts.map((al) => html`<tr><td>${badge(al.severity, al.severity === 'critical' ? STATE_STYLE.failed.color : STATE_STYLE.stale_failed.color)}</td><td>${al.title}</td><td class="num">${al.count}×</td></tr>`)}</tbody></table>` : ''}
<h2>Versions</h2>${versions.length ? html`<table><thead><tr><th>version</th><th>status</th><th class="num">rows</th><th class="num">files</th><th class="num">size</th><th>created</th><th>published</th><th>attempt</th><th></th></tr></thead><tbody>${versionRows}</tbody></table>` : html`<p class="muted">No version yet.</p>`}
<h2>Attempts <span class="muted">${attempts.length}</span></h2>${attempts.length ? html`<div class="chart">${timeline(items)}</div>` : html`<p class="muted">No attempt yet.</p>`}
<div id="attempts">${details}</div>
<h2>Warehouse load</h2>${loadsSection(a, loads)}`;
  return layout(pc, `${a.name} ${p.id}`, 'overview', body, {
    refreshSeconds: queued || latest?.status === 'running' ? 2 : undefined,
  });
}

function attemptDetail(
  ctx: DashboardContext,
  x: AttemptRow,
  checks: readonly CheckResultRow[],
  samples: Awaited<ReturnType<DashboardContext['store']['observe']['samples']['forAttempt']>>,
  n: number,
  open: boolean,
): Html {
  const cfg = ctx.project.config.alerts;
  const ms = between(x.started_at, x.finished_at);
  const timings = x.timings_json ? (JSON.parse(x.timings_json) as Record<string, number>) : undefined;
  const budget = samples.find((s) => s.budget_bytes != null)?.budget_bytes;
  const points = samples.map((s) => ({
    atMs: Number(s.at_ms),
    rss: Number(s.rss_bytes),
    heap: Number(s.heap_bytes),
    external: Number(s.external_bytes),
    duckdb: s.duckdb_bytes == null ? null : Number(s.duckdb_bytes),
    spill: s.spill_bytes == null ? null : Number(s.spill_bytes),
    sparkStorage:
      s.spark_on_heap_bytes == null ? null : Number(s.spark_on_heap_bytes) + Number(s.spark_off_heap_bytes ?? 0),
    sparkExecution: s.spark_execution_bytes == null ? null : Number(s.spark_execution_bytes),
    sparkMax: s.spark_max_bytes == null ? null : Number(s.spark_max_bytes),
  }));
  return html`<details class="attempt card" ${open ? 'open' : ''} data-attempt="${x.attempt_id}" data-status="${x.status}"><summary><span class="dot" style="background:${statusColor(x.status)}"></span>#${n} ${x.status} · <span class="mono">${x.attempt_id}</span> · ${when(x.started_at)} · ${duration(ms)}</summary>
<div class="row" style="margin-top:10px"><div class="kv">
<span class="k">rows</span><span>${count(x.rows)}</span><span class="k">files</span><span>${count(x.files)}</span><span class="k">bytes</span><span>${bytes(x.bytes)}</span>
<span class="k">version</span><span>${x.version_seq === null ? '–' : `v${x.version_seq}`}</span><span class="k">threads</span><span>${x.threads}</span><span class="k">DuckDB limit</span><span>${bytes(x.memory_bytes)}</span>
<span class="k">peak RSS</span><span>${bytes(x.peak_rss_bytes)}</span><span class="k">DuckDB peak</span><span>${bytes(x.duckdb_peak_bytes)}</span><span class="k">spilled</span><span>${bytes(x.spill_bytes)}</span>
<span class="k">worker</span><span class="mono">pid ${x.pid} on ${x.host}</span>${sparkConfRow(x.spark_conf)}</div>
${timings ? html`<div class="grow"><table><thead><tr><th>stage</th><th class="num">time</th></tr></thead><tbody>${Object.entries(timings).map(([k, v]) => html`<tr><td>${k}</td><td class="num">${duration(v)}</td></tr>`)}</tbody></table></div>` : ''}</div>
${x.error_code ? html`<h3 class="error">Error ${x.error_code}</h3><pre>${x.error_message ?? ''}</pre>${x.error_hint ? html`<div><b>What to do:</b> ${x.error_hint}</div>` : ''}` : ''}
${checks.length ? html`<h3>Checks</h3><table class="checks"><thead><tr><th>check</th><th>severity</th><th>result</th><th class="num">failing rows</th><th>sample</th></tr></thead><tbody>${checks.map(checkRow)}</tbody></table>` : ''}
<h3>Memory</h3><div class="chart">${memoryChart(points, { budget: budget == null ? null : Number(budget), warnShare: cfg.memoryWarn, criticalShare: cfg.memoryCritical, startMs: Date.parse(x.started_at), endMs: x.finished_at ? Date.parse(x.finished_at) : undefined, peakRss: x.peak_rss_bytes == null ? null : Number(x.peak_rss_bytes) })}</div>
</details>`;
}

/** The Spark settings an attempt ran with after out-of-memory attempts of its partition (src/engine/spark/oomRetry.ts). */
function sparkConfRow(json: string | null): Html | string {
  if (!json) return '';
  const conf = Object.entries(JSON.parse(json) as Record<string, string>);
  return html`<span class="k">after out of memory</span><span class="mono">${conf.map(([k, v]) => `${k}=${v}`).join(', ')}</span>`;
}

function checkRow(c: CheckResultRow): Html {
  const sample = JSON.parse(c.sample_json) as Record<string, unknown>[];
  const passed = c.passed === 1;
  const cols = sample.length ? Object.keys(sample[0]!) : [];
  const table = sample.length
    ? html`<details class="sample" ${passed ? '' : 'open'}><summary>${sample.length} sample row${sample.length === 1 ? '' : 's'}</summary><table><thead><tr>${cols.map((k) => html`<th>${k}</th>`)}</tr></thead><tbody>${sample.map((r) => html`<tr>${cols.map((k) => html`<td class="mono">${fmt(r[k])}</td>`)}</tr>`)}</tbody></table></details>`
    : '';
  return html`<tr><td><b>${c.name}</b><div class="muted">${c.kind}</div></td><td>${c.severity}</td><td>${badge(passed ? 'passed' : 'failed', passed ? STATE_STYLE.published.color : c.severity === 'warn' ? STATE_STYLE.stale_failed.color : STATE_STYLE.failed.color)}</td><td class="num">${count(c.failing)}</td><td>${c.message ? html`<div>${c.message}</div>` : ''}${table}</td></tr>`;
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function loadsSection(
  a: Analyzer,
  loads: Awaited<ReturnType<DashboardContext['store']['observe']['reads']['loadsOf']>>,
): Html {
  if (loads === undefined) return html`<p class="muted">This state store has no warehouse loads table.</p>`;
  // `load` is read loosely: the warehouse settings may not exist in every version of the config schema.
  const target = (a as { load?: { table?: string } }).load?.table;
  if (loads.length === 0)
    return html`<p class="muted">${target ? `No load into ${target} recorded yet.` : 'This analyzer has no load target.'}</p>`;
  const holds = loads.find((l) => l.status === 'loaded');
  const summary = holds
    ? html`<p>${html`<span class="mono">${holds.table}</span>`} holds v${holds.versionSeq} (${count(holds.rows)} rows).</p>`
    : html`<p class="muted">${target ?? 'The table'} holds no version of this partition recount loaded.</p>`;
  return html`${summary}<table><thead><tr><th>version</th><th>table</th><th>status</th><th class="num">rows</th><th class="num">tries</th><th>requested</th><th>finished</th><th>error</th></tr></thead><tbody>${loads.map(
    (l) =>
      html`<tr><td>v${l.versionSeq}</td><td class="mono">${l.table}</td><td>${badge(l.status, statusColor(l.status))}</td><td class="num">${count(l.rows)}</td><td class="num">${l.tries}</td><td>${when(l.requestedAt)}</td><td>${when(l.finishedAt)}</td><td class="error">${l.errorCode ? `[${l.errorCode}] ${l.errorMessage ?? ''}` : ''}</td></tr>`,
  )}</tbody></table>`;
}
