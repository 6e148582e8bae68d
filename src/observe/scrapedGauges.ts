import { Gauge, type Registry } from 'prom-client';
import type { MetricSources } from './metricSources.ts';

/** A gauge whose value is read from its sources at each scrape. */
interface ScrapedGauge {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  collect(gauge: Gauge, sources: MetricSources): void | Promise<void>;
}

/** Per-analyzer series start at 0 for every analyzer, so a rule has a series to watch before anything happens. */
const SCRAPED_GAUGES: readonly ScrapedGauge[] = [
  {
    name: 'recount_workers',
    help: 'Live worker processes.',
    collect: (g, sources) => g.set(sources.workerPids().length),
  },
  {
    name: 'recount_attempts_running',
    help: 'Attempts running now.',
    collect: (g, sources) => g.set(sources.running()),
  },
  {
    name: 'recount_queue_depth',
    help: 'Runs queued and not yet started, by analyzer.',
    labelNames: ['analyzer'],
    async collect(g, sources) {
      g.reset();
      for (const analyzer of sources.analyzers()) g.set({ analyzer }, 0);
      for (const q of await sources.queueCounts()) if (q.state === 'queued') g.set({ analyzer: q.analyzer }, q.n);
    },
  },
  {
    name: 'recount_lag_seconds',
    help: "How far an analyzer's newest published partition trails its newest ready input, in seconds (0 when caught up).",
    labelNames: ['analyzer'],
    collect(g, sources) {
      g.reset();
      for (const [analyzer, seconds] of sources.lag()) g.set({ analyzer }, seconds);
    },
  },
  {
    name: 'recount_loads',
    help: 'Warehouse load records by analyzer and status (loaded, pending, failed, superseded, replaced).',
    labelNames: ['analyzer', 'status'],
    async collect(g, sources) {
      g.reset();
      for (const l of await sources.loadCounts()) g.set({ analyzer: l.analyzer, status: l.status }, l.n);
    },
  },
  {
    name: 'recount_load_failures',
    help: 'Warehouse loads failing now: failed (needs a fix) or pending after a failed try (being retried).',
    labelNames: ['analyzer'],
    async collect(g, sources) {
      g.reset();
      const by = new Map<string, number>(sources.analyzers().map((a) => [a, 0]));
      for (const l of await sources.loadCounts())
        by.set(l.analyzer, (by.get(l.analyzer) ?? 0) + (l.status === 'failed' ? l.n : 0) + l.retrying);
      for (const [analyzer, n] of by) g.set({ analyzer }, n);
    },
  },
  {
    name: 'recount_alerts_open',
    help: 'Open alerts by analyzer and severity.',
    labelNames: ['analyzer', 'severity'],
    async collect(g, sources) {
      g.reset();
      for (const analyzer of sources.analyzers())
        for (const severity of ['warning', 'critical']) g.set({ analyzer, severity }, 0);
      for (const a of await sources.openAlerts()) g.set({ analyzer: a.analyzer, severity: a.severity }, a.n);
    },
  },
];

/** Register the gauges read at scrape time (workers, running attempts, queue, lag, loads, open alerts). */
export function registerScrapedGauges(registry: Registry, sources: MetricSources): void {
  for (const def of SCRAPED_GAUGES) {
    new Gauge({
      name: def.name,
      help: def.help,
      labelNames: def.labelNames ?? [],
      registers: [registry],
      collect() {
        return def.collect(this, sources);
      },
    });
  }
}
