// Programs some tests need from Debian packages, brought by the tests themselves so that the README's
// `npm install && npm test` is enough on a fresh machine (as .ci/run does): installed with apt-get where it can
// be used (root), otherwise a failure that says in one line what to run. Never a silent skip.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './project.ts';

const hasAptGet = () => spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
const isRoot = () => process.getuid?.() === 0;

/** Run a shell command for the setup, its output on our stderr; true when it succeeded. */
function run(command: string): boolean {
  process.stderr.write(`test setup: ${command}\n`);
  const r = spawnSync('sh', ['-c', command], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0;
}

/** Debian's Chromium for the browser test: its path, installed with apt-get when missing and possible; else an error naming the command to run. */
export function ensureChromium(path = '/usr/bin/chromium'): string {
  if (existsSync(path)) return path;
  if (hasAptGet() && isRoot()) run('apt-get update -qq && apt-get install -y -qq chromium >/dev/null');
  if (existsSync(path)) return path;
  throw new Error(
    `${path} is missing: run 'apt-get install -y chromium' as root (what .ci/run does), then the tests again`,
  );
}

/** Where promtool from Debian's prometheus package is unpacked for the tests (the package is not installed: it would start a Prometheus server). */
const PROMETHEUS_DIR = join(REPO, 'node_modules', '.cache', 'recount-test', 'prometheus');

/**
 * Prometheus's `promtool` (to lint /metrics): from PATH, else unpacked from Debian's prometheus package
 * (apt-get download, dpkg -x) when apt-get is there; undefined where neither is possible.
 */
export function promtool(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  if (onPath.status === 0) return onPath.stdout.trim();
  const unpacked = join(PROMETHEUS_DIR, 'usr', 'bin', 'promtool');
  if (existsSync(unpacked)) return unpacked;
  if (!hasAptGet()) return undefined;
  const tmp = `${PROMETHEUS_DIR}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    if (
      !run(
        `cd '${tmp}' && apt-get download -qq prometheus 2>/dev/null || { ${isRoot() ? 'apt-get update -qq && ' : ''}apt-get download -qq prometheus; }`,
      )
    )
      return undefined;
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb || !run(`dpkg -x '${join(tmp, deb)}' '${join(tmp, 'x')}'`)) return undefined;
    try {
      renameSync(join(tmp, 'x'), PROMETHEUS_DIR);
    } catch {
      // Unpacked by another test process first.
    }
    return existsSync(unpacked) ? unpacked : undefined;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
