import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { waitFor, type ServeProcess } from '../helpers/serve.ts';

/** The dashboard URL a `recount serve` child logged when it started listening. */
export async function dashboardUrl(serve: ServeProcess): Promise<string> {
  const line = await waitFor(
    'dashboard listening',
    () => serve.logs().find((l) => typeof l.url === 'string' && String(l.msg).startsWith('dashboard listening')),
    60_000,
    100,
  );
  return line.url as string;
}

/** /metrics parsed by a real Prometheus text parser (it throws on any malformed line). */
export class Scrape {
  constructor(
    readonly families: PromFamily[],
    readonly text: string,
  ) {}

  /**
   * A histogram's `_count` or `_sum` series by its labels, read from the text: the parser validates histogram
   * lines but folds labelled histograms into one sample (it only supports unlabelled ones).
   */
  histogram(name: string, part: 'count' | 'sum', labels: Record<string, string>): number {
    for (const line of this.text.split('\n')) {
      const m = /^([a-z_:]+)\{([^}]*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== `${name}_${part}`) continue;
      const got = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
    }
    return 0;
  }

  family(name: string): PromFamily | undefined {
    return this.families.find((f) => f.name === name);
  }

  /** The value of one series (labels must match exactly those given, extra labels allowed); 0 when absent. */
  value(name: string, labels: Record<string, string> = {}): number {
    const f = this.family(name);
    const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
    if (!m) return 0;
    return Number(m.value ?? m.count ?? 0);
  }

  /** Sum over every series of a metric matching the labels. */
  sum(name: string, labels: Record<string, string> = {}): number {
    const f = this.family(name);
    return (f?.metrics ?? [])
      .filter((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
      .reduce((a, s) => a + Number(s.value ?? s.count ?? 0), 0);
  }
}

/** GET /metrics and parse it; asserts the content type Prometheus expects. */
export async function scrape(base: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(new URL('metrics', base), { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain')) throw new Error(`/metrics content type is ${type}`);
  const text = await res.text();
  return new Scrape(parsePrometheusTextFormat(text), text);
}

/** A local HTTP receiver for webhooks on 127.0.0.1, recording the JSON bodies it gets. */
export interface Receiver {
  readonly url: string;
  readonly bodies: Record<string, any>[];
  close(): Promise<void>;
}

/** Start a webhook receiver; `status` decides each answer (default 200). */
export async function startReceiver(status: (n: number) => number = () => 200): Promise<Receiver> {
  const bodies: Record<string, any>[] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const code = status(++n);
      if (code < 300) bodies.push({ ...JSON.parse(body), _headers: req.headers });
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A port on 127.0.0.1 where nothing listens (a dead receiver): bound once, then closed. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/hook`;
}

/** Land one hour of events the way a real writer does: files first, then _SUCCESS. */
export async function landHour(projectDir: string, hour: string, rows = 2000, seed = 11): Promise<void> {
  const { generateEvents } = await import('../../src/gen/events.ts');
  const { tempDir } = await import('../helpers/project.ts');
  const { mkdirSync, renameSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const scratch = tempDir('recount-land-');
  await generateEvents({ out: scratch, start: hour, hours: 1, rowsPerHour: rows, seed, ads: 100, threads: 1 });
  const rel = `dt=${hour.slice(0, 10)}/hour=${hour.slice(11, 13)}`;
  const dest = join(projectDir, 'data/events', rel);
  mkdirSync(dest, { recursive: true });
  renameSync(join(scratch, rel, 'part-00000.parquet'), join(dest, 'part-00000.parquet'));
  writeFileSync(join(dest, '_SUCCESS'), '');
  rmSync(scratch, { recursive: true, force: true });
}

/** recount.config.ts of an observability test project. */
export function observeConfig(alerts: string): string {
  return `import { defineConfig } from 'recount';
export default defineConfig({
  datasets: { events: { root: 'data/events', grain: 'hour' } },
  output: 'data/out',
  serve: { minWorkers: 1, maxWorkers: 2, scanIntervalMs: 400, lookbackHours: 1000000 },
  defaults: { memory: '1GB', threads: 1, files: 2 },
  alerts: ${alerts},
});
`;
}

/** An hourly analyzer over the events, with extra fields (memory, checks…). */
export function hourlyAnalyzer(name: string, extra = ''): string {
  return `import { defineAnalyzer } from 'recount';
export default defineAnalyzer({
  name: '${name}',
  inputs: ['events'],
  grain: 'hour',
  start: '2023-10-12T00',
  sql: \`SELECT ad_id, user_segment, count(*) AS impression_count, sum(bid_price) AS total_bid FROM events WHERE event_type = 'impression' GROUP BY ad_id, user_segment\`,
  retries: { max: 2, backoffMs: 100, maxBackoffMs: 200 },
  ${extra}
});
`;
}
