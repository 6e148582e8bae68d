import { describe, expect, it } from 'vitest';
import { judgeOutcome, type JudgeContext } from '../../src/scheduler/judgeOutcome.ts';
import type { WorkerOutcome } from '../../src/worker/pool.ts';

const ctx: JudgeContext = { stopping: false, tries: 1, maxTries: 3, heapMb: 64, postmortemDir: '.recount/postmortem' };

function report(status: 'succeeded' | 'failed' | 'superseded', code?: string): WorkerOutcome {
  return {
    kind: 'report',
    peakRssBytes: 1,
    report: {
      attemptId: 'a',
      status,
      durationMs: 1,
      peakRssBytes: 1,
      ...(code ? { error: { code, message: `${code} happened` } } : {}),
    },
  };
}
const rssKill: WorkerOutcome = { kind: 'oom', reason: 'rss', peakRssBytes: 600e6, budgetBytes: 512e6 };
const heapKill: WorkerOutcome = { kind: 'oom', reason: 'v8-heap', peakRssBytes: 1, budgetBytes: 512e6 };
const killed: WorkerOutcome = { kind: 'crashed', code: null, signal: 'SIGKILL', stderr: '', peakRssBytes: 1 };

describe('judgeOutcome', () => {
  const cases: {
    name: string;
    outcome: WorkerOutcome;
    ctx?: Partial<JudgeContext>;
    expected: Record<string, unknown>;
  }[] = [
    { name: 'published', outcome: report('succeeded'), expected: { kind: 'done', status: 'succeeded' } },
    { name: 'superseded', outcome: report('superseded'), expected: { kind: 'done', status: 'superseded' } },
    { name: 'killed by the drain', outcome: killed, ctx: { stopping: true }, expected: { kind: 'abandoned' } },
    {
      name: 'DuckDB out of memory: fewer threads, same limit',
      outcome: report('failed', 'OUT_OF_MEMORY'),
      expected: {
        kind: 'failed',
        status: 'oom',
        retry: true,
        degrade: 'threads',
        oomReason: 'duckdb',
        workerDied: false,
        recoverIntent: true,
      },
    },
    {
      name: 'Spark out of memory: retried, the worker plan kept (the retry runs Spark with smaller tasks)',
      outcome: report('failed', 'OUT_OF_MEMORY'),
      ctx: { engine: 'spark' },
      expected: {
        kind: 'failed',
        status: 'oom',
        retry: true,
        oomReason: 'spark',
        workerDied: false,
        recoverIntent: true,
      },
    },
    {
      name: 'watchdog kill: fewer threads and a lower limit',
      outcome: rssKill,
      expected: {
        kind: 'failed',
        status: 'oom',
        code: 'OUT_OF_MEMORY',
        retry: true,
        degrade: 'threads-and-limit',
        oomReason: 'rss',
        workerDied: true,
        recoverIntent: false,
      },
    },
    {
      name: 'V8 heap',
      outcome: heapKill,
      expected: { kind: 'failed', status: 'oom', oomReason: 'v8-heap', workerDied: true },
    },
    {
      name: 'worker killed from outside',
      outcome: killed,
      expected: { kind: 'failed', status: 'crashed', code: 'CRASHED', retry: true, workerDied: true },
    },
    {
      name: 'a failed check is not retried',
      outcome: report('failed', 'CHECK_FAILED'),
      expected: { kind: 'failed', status: 'failed', retry: false, recoverIntent: true },
    },
    {
      name: 'bad SQL is not retried',
      outcome: report('failed', 'SQL_INVALID'),
      expected: { kind: 'failed', retry: false },
    },
    { name: 'the last try is final', outcome: rssKill, ctx: { tries: 3 }, expected: { kind: 'failed', retry: false } },
    {
      name: 'a drain still retries a retryable failure',
      outcome: rssKill,
      ctx: { stopping: true },
      expected: { kind: 'failed', retry: true },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(judgeOutcome(c.outcome, { ...ctx, ...c.ctx })).toMatchObject(c.expected);
    });
  }

  it('names the budget of a watchdog kill and the heap limit and snapshot folder of a V8 one', () => {
    const rss = judgeOutcome(rssKill, ctx);
    const heap = judgeOutcome(heapKill, ctx);
    expect(rss.kind === 'failed' && rss.message).toBe('worker killed: RSS 600 MB passed the memory budget of 512 MB');
    expect(heap.kind === 'failed' && heap.message).toContain('limit 64 MB');
    expect(heap.kind === 'failed' && heap.message).toContain('.recount/postmortem');
  });

  it("keeps the worker's threads and DuckDB limit after a Spark out of memory (they do not hold Spark's memory)", () => {
    expect(judgeOutcome(report('failed', 'OUT_OF_MEMORY'), { ...ctx, engine: 'spark' })).not.toHaveProperty('degrade');
  });
});
