import { loadProject } from '../config/load.ts';
import { getAnalyzer } from '../config/project.ts';
import { openStateStore } from '../state/open.ts';
import { DuckDBEngine } from '../engine/duckdb/duckdbEngine.ts';
import { runPartition } from '../run/runPartition.ts';
import { asRecountError, RecountError } from '../errors.ts';
import { loadVersion } from '../warehouse/loader.ts';
import { currentEngineUsage } from '../engine/engineSampler.ts';
import type { AttemptReport, FromWorker, ToWorker } from './protocol.ts';

// A worker process: loads the project once, then runs one attempt at a time as the daemon asks.
const projectDir = process.argv[2];
if (!projectDir || !process.send) {
  process.stderr.write(
    'recount worker: started without a project folder or IPC channel; it is started by `recount serve`\n',
  );
  process.exit(2);
}
const send = (m: FromWorker) => process.send!(m);
const project = await loadProject(projectDir);
const store = await openStateStore(project.stateUrl, project.dir);
const engine = new DuckDBEngine();

const sendMemory = () => {
  const m = process.memoryUsage();
  send({
    type: 'memory',
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    duckdbBytes: currentEngineUsage.memoryBytes,
    spillBytes: currentEngineUsage.spillBytes,
    ...(currentEngineUsage.executors.length > 0 ? { executors: currentEngineUsage.executors } : {}),
  });
};
const memoryTimer = setInterval(sendMemory, 250);
memoryTimer.unref();

// One message at a time, in the order they came.
let queue = Promise.resolve();
process.on('message', (msg: ToWorker) => {
  queue = queue.then(() => handleMessage(msg));
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });

/** Stop, load a version, or run an attempt. */
async function handleMessage(msg: ToWorker): Promise<void> {
  if (msg.type === 'stop') {
    await store.close();
    process.exit(0);
  }
  if (msg.type === 'load') return loadOwedVersion(msg);
  return runAttempt(msg);
}

/** Run one attempt of a partition and report its outcome. */
async function runAttempt(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  // A sample as the attempt starts and as it ends, so even an attempt shorter than the interval has its memory chart.
  sendMemory();
  try {
    const r = await runPartition({ project, store, engine }, getAnalyzer(project, msg.analyzer), msg.partition, {
      attemptId: msg.attemptId,
      threads: msg.threads,
      fitThreads: msg.fitThreads,
      memoryBytes: msg.duckdbBytes,
      trigger: msg.trigger,
      deferLoad: msg.deferLoad,
    });
    sendMemory();
    send({
      type: 'result',
      report: {
        attemptId: r.attemptId,
        status: r.status,
        version: r.version,
        rows: r.rows,
        durationMs: r.durationMs,
        peakRssBytes: r.peakRssBytes,
        spillBytes: r.spillBytes,
        fileSha256: r.fileSha256,
        error: r.error ? errorFields(r.error) : undefined,
      },
    });
  } catch (err) {
    send({ type: 'result', report: failureReport(msg.attemptId, 0, err) });
  }
}

/** Load a published version into the analyzer's warehouse table (a load owed) and report it as an attempt. */
async function loadOwedVersion(msg: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  const t0 = performance.now();
  try {
    const v = await store.getVersion(msg.analyzer, msg.partition, msg.version);
    if (!v)
      throw new RecountError(
        'VERSION_NOT_FOUND',
        `${msg.analyzer} ${msg.partition} v${msg.version} is not in the state store`,
        { subject: `${msg.analyzer} ${msg.partition}`, hint: 'it was removed meanwhile; nothing to load' },
      );
    const o = await loadVersion({ project, store }, getAnalyzer(project, msg.analyzer), v);
    send({
      type: 'result',
      report: {
        attemptId: msg.jobId,
        status: o.error ? 'failed' : o.status === 'superseded' ? 'superseded' : 'succeeded',
        version: o.version,
        rows: o.rows,
        durationMs: o.ms,
        peakRssBytes: process.memoryUsage.rss(),
        error: o.error ? errorFields(o.error) : undefined,
      },
    });
  } catch (err) {
    send({ type: 'result', report: failureReport(msg.jobId, performance.now() - t0, err) });
  }
}

/** The report of a job that threw instead of reporting an outcome. */
function failureReport(attemptId: string, durationMs: number, err: unknown): AttemptReport {
  return {
    attemptId,
    status: 'failed',
    durationMs,
    peakRssBytes: process.memoryUsage.rss(),
    error: errorFields(asRecountError(err)),
  };
}

function errorFields(e: { code: string; message: string; hint?: string }): NonNullable<AttemptReport['error']> {
  return { code: e.code, message: e.message, hint: e.hint };
}
