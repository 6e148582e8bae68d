import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, type ServeProcess } from '../helpers/serve.ts';
import { dashboardUrl, hourlyAnalyzer, observeConfig } from '../observe/observeHelpers.ts';

// A storm of alerts stays readable: the alerts page counts them by kind, filters by kind and pages 50 at a time.
describe('dashboard alerts page with many alerts', () => {
  let tp: TestProject;
  let serve: ServeProcess | undefined;
  let base: string;
  const page = async (q: string) => {
    const r = await fetch(`${base}alerts${q}`);
    expect(r.status).toBe(200);
    const text = await r.text();
    return {
      text,
      rows: [...text.matchAll(/<tr data-alert="(\d+)" data-kind="([a-z_]+)"/g)].map((m) => ({
        id: Number(m[1]),
        kind: m[2],
      })),
    };
  };

  beforeAll(async () => {
    tp = await makeProject({
      examples: false,
      hours: 0,
      config: observeConfig('{}'),
      analyzers: { hourly: hourlyAnalyzer('hourly') },
    });
    const ctx = await tp.open();
    try {
      for (let i = 0; i < 120; i++) {
        const partition = `2023-10-${String(1 + Math.floor(i / 24)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}`;
        const kind = i < 70 ? 'check_failed' : 'oom_kill';
        await ctx.store.observe.alerts.raise({
          kind,
          severity: 'critical',
          key: `${kind}:hourly/${partition}`,
          analyzer: 'hourly',
          partition,
          title: `hourly ${partition}: ${kind}`,
        });
      }
    } finally {
      await ctx.close();
    }
    serve = startServe(tp, ['--port', '0']);
    base = await dashboardUrl(serve);
  });
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop();
    tp?.cleanup();
  });

  it('shows 50 a page, newest first, with counts per kind, and pages through all 120 exactly once', async () => {
    const p1 = await page('');
    expect(p1.rows).toHaveLength(50);
    expect(p1.text).toContain('1–50 of 120');
    expect(p1.text).toContain('page 1 of 3');
    expect(p1.text).toMatch(/data-kind-filter="check_failed"[^>]*>check failed <span class="muted">70<\/span>/);
    expect(p1.text).toMatch(/data-kind-filter="oom_kill"[^>]*>oom kill <span class="muted">50<\/span>/);
    const p2 = await page('?page=2');
    const p3 = await page('?page=3');
    expect(p3.text).toContain('101–120 of 120');
    const ids = [...p1.rows, ...p2.rows, ...p3.rows].map((r) => r.id);
    expect(new Set(ids).size).toBe(120);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    // A page past the end shows the last one.
    expect((await page('?page=99')).text).toContain('page 3 of 3');
  });

  it('filters by kind, keeping the filter in the page links', async () => {
    const oom = await page('?kind=oom_kill');
    expect(oom.rows).toHaveLength(50);
    expect(new Set(oom.rows.map((r) => r.kind))).toEqual(new Set(['oom_kill']));
    expect(oom.text).not.toContain('data-pager');
    const checks = await page('?kind=check_failed&page=2');
    expect(checks.rows).toHaveLength(20);
    expect(checks.text).toContain('51–70 of 70');
    expect(checks.text).toContain('href="/alerts?kind=check_failed"');
    expect((await page('?kind=lag')).text).toContain('No alerts open of kind lag.');
  });
});
