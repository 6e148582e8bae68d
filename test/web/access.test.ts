import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TestProject } from '../helpers/project.ts';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve.ts';
import { dashboardUrl, hourlyAnalyzer, observeConfig } from '../observe/observeHelpers.ts';

const TOKEN = 's3cret-token-for-tests';

/** A request that never follows redirects, so each answer is seen as the server gave it. */
function get(url: string, headers: Record<string, string> = {}) {
  return fetch(url, { headers, redirect: 'manual' });
}

describe('dashboard access', () => {
  let tp: TestProject;
  let serve: ServeProcess | undefined;
  let base: string;

  beforeAll(async () => {
    tp = await makeProject({
      examples: false,
      hours: 0,
      config: observeConfig('{}'),
      analyzers: { hourly: hourlyAnalyzer('hourly') },
    });
  });
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop();
    tp?.cleanup();
  });

  it('refuses to listen beyond loopback without a token', () => {
    const r = tp.cli(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/0\.0\.0\.0.*without a token/);
    expect(r.stderr).toMatch(/--token/);
  });

  it('bound to 0.0.0.0 with a token, refuses every request without it: pages, metrics and actions', async () => {
    serve = startServe(tp, ['--host', '0.0.0.0', '--port', '0', '--token', TOKEN]);
    base = await dashboardUrl(serve);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    for (const path of ['', 'metrics', 'alerts', 'analyzers/hourly', 'healthz']) {
      expect((await get(base + path)).status, path).toBe(401);
      expect((await get(base + path, { authorization: 'Bearer wrong' })).status, path).toBe(401);
      expect((await get(base + path, { cookie: 'recount_token=wrong' })).status, path).toBe(401);
    }
    const post = await fetch(`${base}actions/rerun`, {
      method: 'POST',
      body: new URLSearchParams({ analyzer: 'hourly', partition: '2023-10-12T00' }),
      redirect: 'manual',
    });
    expect(post.status).toBe(401);

    const metrics = await get(`${base}metrics`, { authorization: `Bearer ${TOKEN}` });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP recount_/m);

    // A browser opens it once with ?token=: it gets the token as an HttpOnly cookie and a URL without it.
    const login = await get(`${base}alerts?status=all&token=${TOKEN}`);
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/alerts?status=all');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/recount_token=.*HttpOnly.*SameSite=Strict/);
    const page = await get(`${base}alerts`, { cookie: cookie.split(';')[0]! });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  });

  it('refuses actions from other sites, and actions without the session CSRF token, even with the token', async () => {
    const auth = { cookie: `recount_token=${TOKEN}` };
    const page = await get(`${base}analyzers/hourly`, auth);
    const session = page.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const cookies = `${auth.cookie}; ${session}`;
    const form = (extra: Record<string, string> = {}) =>
      new URLSearchParams({ analyzer: 'hourly', from: '2023-10-12T00', to: '2023-10-12T01', ...extra });
    const post = (body: URLSearchParams, headers: Record<string, string>) =>
      fetch(`${base}actions/backfill`, {
        method: 'POST',
        body,
        headers: { cookie: cookies, ...headers },
        redirect: 'manual',
      });

    expect((await post(form(), {})).status).toBe(403);
    expect((await post(form({ _csrf: 'forged' }), {})).status).toBe(403);
    expect((await post(form({ _csrf: csrf }), { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(form({ _csrf: csrf }), { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const other = await fetch(`${base}actions/backfill`, {
      method: 'POST',
      body: form({ _csrf: csrf }),
      headers: { cookie: `${auth.cookie}; recount_session=someone-else` },
      redirect: 'manual',
    });
    expect(other.status).toBe(403);
    await waitFor(
      'the refusals logged',
      () => serve!.logs().filter((l) => l.msg === 'dashboard action refused as cross-site').length === 5,
      5_000,
      50,
    );

    const ok = await post(form({ _csrf: csrf }), { origin: base.replace(/\/$/, ''), 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/analyzers/hourly');
  });
});
