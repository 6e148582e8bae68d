import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeProject, REPO, type TestProject } from '../helpers/project.ts';
import { ensureChromium } from '../helpers/debianTools.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { openStateStore } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import { formatPartitionId } from '../../src/catalog/partition.ts';
import { gridPayload, gridSection, stateCounts, type GridCell } from '../../src/web/grid.ts';
import { STYLE } from '../../src/web/style.ts';
import type { PartitionState } from '../../src/web/states.ts';
import { dashboardUrl, hourlyAnalyzer, observeConfig } from '../observe/observeHelpers.ts';

const ARTIFACTS = join(REPO, 'test-artifacts');

// Headless Debian Chromium driven by playwright-core over a real project that `recount serve` has run.
describe('dashboard in a browser', () => {
  let tp: TestProject;
  let serve: ServeProcess;
  let store: StateStore;
  let browser: Browser;
  let page: Page;
  let base: string;

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });

  beforeAll(async () => {
    // Installs Debian's chromium when it is missing and apt-get can (root); else fails saying what to run.
    const executablePath = ensureChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    tp = await makeProject({
      examples: false,
      hours: 3,
      rowsPerHour: 2000,
      config: observeConfig('{}'),
      analyzers: {
        hourly: hourlyAnalyzer(
          'hourly',
          "checks: [{ name: 'few_big_segments', severity: 'warn', sql: 'SELECT ad_id, user_segment, impression_count FROM output WHERE impression_count > 3 LIMIT 4' }], load: { table: 'hourly' },",
        ),
      },
    });
    store = await openStateStore('sqlite:.recount/state.db', tp.dir);
    serve = startServe(tp, ['--port', '0']);
    base = await dashboardUrl(serve);
    await waitFor(
      'three hours published',
      async () => (await store.listPartitions('hourly')).filter((p) => p.published_seq !== null).length === 3,
      90_000,
    );
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (err) => {
      throw err;
    });
  }, 900_000); // a first run may install chromium

  afterAll(async () => {
    await browser?.close();
    if (serve && serve.child.exitCode === null) await serve.stop();
    await store?.close();
    tp?.cleanup();
  });

  it('shows the grid, opens a partition, reruns it and sees the new attempt appear', async () => {
    await page.goto(base);
    const row = page.locator('table').first().locator('tbody tr').first();
    expect(await row.locator('td').first().textContent()).toContain('hourly');
    expect(await row.locator('.badge').first().textContent()).toBe('healthy');
    expect(await row.locator('td.num').first().textContent()).toMatch(/3\s*\/ 3/);
    await shot('overview');

    await row.getByRole('link', { name: 'hourly', exact: true }).click();
    const grid = page.locator('canvas#grid');
    await expect.poll(() => grid.getAttribute('data-cells')).toBe('3');
    expect(await page.evaluate(() => (window as any).recountGrid.cells)).toBe(3);
    expect((await grid.boundingBox())!.height).toBeGreaterThan(20);
    await shot('analyzer');

    // Click the cell of 2023-10-12T01 on the canvas.
    const cell = await page.evaluate(() => (window as any).recountGrid.cellCenter('2023-10-12T01'));
    await page.mouse.click(
      cell.x - (await page.evaluate(() => window.scrollX)),
      cell.y - (await page.evaluate(() => window.scrollY)),
    );
    await page.waitForURL(/\/analyzers\/hourly\/partitions\/2023-10-12T01$/);
    await expect.poll(() => page.locator('details.attempt').count()).toBe(1);
    expect(await page.locator('details.attempt').first().getAttribute('data-status')).toBe('succeeded');
    // The warn check failed (the publish went ahead): its sample rows are on the page.
    expect(await page.locator('table.checks').textContent()).toContain('few_big_segments');
    expect(await page.locator('.sample table tbody tr').count()).toBe(4);
    // Memory samples are stored every 2 s, so the chart can come a moment after the publish: reload until it does.
    await expect
      .poll(async () => {
        const count = await page.locator('svg[aria-label="memory over time"]').count();
        if (count === 0) await page.reload();
        return count;
      })
      .toBe(1);
    await shot('partition');

    await page.getByRole('button', { name: 'Rerun this partition' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toContain('Rerun of hourly 2023-10-12T01 queued');
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('details.attempt').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual(['succeeded', 'succeeded']);
    // The new attempt's memory chart, once its samples are stored (batched every 2 s).
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('details.attempt').first().locator('svg[aria-label="memory over time"]').count();
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(1);
    const versions = await page.locator('h2:has-text("Versions") + table tbody tr').allTextContents();
    expect(versions[0]).toMatch(/v2\s*published/);
    expect(versions[1]).toMatch(/v1\s*retained/);
    await shot('partition-rerun');

    // Roll back to v1 from the versions table.
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await expect
      .poll(() => page.locator('.flash').textContent())
      .toContain('Rolled back hourly 2023-10-12T01 from v2 to v1');
    expect((await store.getPartition('hourly', '2023-10-12T01'))!.published_seq).toBe(1);
    // The warehouse follows (I5): a worker loads v1 over v2, and v2's record says it was replaced.
    await expect
      .poll(
        async () =>
          (await store.loads.list({ analyzer: 'hourly', partitionId: '2023-10-12T01' })).map(
            (l) => `v${l.version_seq} ${l.status}`,
          ),
        { timeout: 60_000, interval: 500 },
      )
      .toEqual(['v2 replaced', 'v1 loaded']);
    await page.reload();
    expect(await page.locator('h2:has-text("Warehouse load") ~ table tbody tr').first().textContent()).toMatch(
      /v2.*replaced/,
    );
    await shot('partition-rollback');

    // The alerts page lists the warn check's alerts, with their kind to filter by.
    await page
      .getByRole('link', { name: /^Alerts/ })
      .first()
      .click();
    await page.waitForURL(/\/alerts$/);
    expect(await page.locator('tr[data-kind="check_failed"]').count()).toBeGreaterThan(0);
    await shot('alerts');
  });

  it('draws a year of hourly partitions in one canvas, about one screen high, and a click opens the right partition', async () => {
    const states: PartitionState[] = [
      'published',
      'published',
      'published',
      'published',
      'failed',
      'stale_failed',
      'missing',
      'queued',
      'running',
      'none',
    ];
    const start = Date.UTC(2023, 0, 1);
    const cells: GridCell[] = Array.from({ length: 8760 }, (_, i) => ({
      id: formatPartitionId(new Date(start + i * 3_600_000), 'hour'),
      state: i > 8700 ? 'missing' : states[(i * 7 + (i >> 5)) % (i % 97 === 0 ? 10 : 4)]!,
    }));
    const section = gridSection(gridPayload('hour', cells, '#'), stateCounts(cells), 'test');
    // A fresh page: the dashboard's Content-Security-Policy would stay with the old document.
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.setContent(
      `<!doctype html><html><head><style>${STYLE}</style></head><body><main>${section.value}</main></body></html>`,
    );
    expect(await page.evaluate(() => (window as any).recountGrid.cells)).toBe(8760);
    const box = (await page.locator('canvas#grid').boundingBox())!;
    expect(box.width).toBeLessThanOrEqual(1440);
    expect(box.height).toBeLessThan(900);
    const at = await page.evaluate(() => (window as any).recountGrid.cellCenter('2023-07-04T13'));
    await page.mouse.click(at.x, at.y);
    await expect.poll(() => page.evaluate(() => decodeURIComponent(location.hash))).toBe('#2023-07-04T13');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-grid-year.png'), fullPage: true });
  });
});
