// Installs Spark (the pyspark wheel from PyPI, which ships Spark's jars and its Spark Connect server)
// into a cache folder and runs one local Spark Connect server for the tests, the CI and `scripts/spark-server.ts`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The Spark version the tests run against; the Spark Connect protocol in src/engine/spark/connect/gen comes from the same version. */
export const SPARK_VERSION = '4.1.3';

/** Where pyspark is installed: `$RECOUNT_SPARK_CACHE` or `~/.cache/recount`. */
export function sparkCacheDir(): string {
  return process.env.RECOUNT_SPARK_CACHE ?? join(homedir(), '.cache', 'recount');
}

/** SPARK_HOME of the cached install (the `pyspark` package folder holds bin/, jars/ and sbin/). */
export function sparkHome(version = SPARK_VERSION): string {
  return join(sparkCacheDir(), `pyspark-${version}`, 'pyspark');
}

function connectJar(home: string, version: string): string {
  return join(home, 'jars', `spark-connect_2.13-${version}.jar`);
}

/** Installs pyspark==version with pip into the cache unless it is there; returns SPARK_HOME and the seconds spent. */
export function installSpark(
  version = SPARK_VERSION,
  log: (line: string) => void = () => {},
): { home: string; seconds: number; installed: boolean } {
  const home = sparkHome(version);
  if (existsSync(connectJar(home, version))) return { home, seconds: 0, installed: false };
  const started = Date.now();
  const target = join(sparkCacheDir(), `pyspark-${version}`);
  // Install beside the final folder and rename it into place, so a killed pip never leaves a half install that looks whole.
  const tmp = `${target}.tmp-${process.pid}`;
  mkdirSync(sparkCacheDir(), { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  const pip = findPip();
  log(`spark: installing pyspark==${version} into ${target} (about 455 MB) with ${pip.join(' ')}`);
  const res = spawnSync(
    pip[0],
    [
      ...pip.slice(1),
      'install',
      '--no-deps',
      '--no-cache-dir',
      '--disable-pip-version-check',
      '--quiet',
      '--target',
      tmp,
      `pyspark==${version}`,
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (res.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(
      `pip install pyspark==${version} failed (exit ${res.status ?? res.signal}); check that PyPI is reachable and Python 3 with pip is installed`,
    );
  }
  try {
    renameSync(tmp, target);
  } catch (err) {
    // Another process installed it meanwhile: keep theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(connectJar(home, version))) throw err;
  }
  if (!existsSync(connectJar(home, version)))
    throw new Error(
      `pyspark ${version} installed into ${target} has no Spark Connect jar ${connectJar(home, version)}`,
    );
  return { home, seconds: (Date.now() - started) / 1000, installed: true };
}

function findPip(): string[] {
  for (const cand of [['python3', '-m', 'pip'], ['python', '-m', 'pip'], ['pip3'], ['pip']]) {
    const res = spawnSync(cand[0], [...cand.slice(1), '--version'], { stdio: 'ignore' });
    if (res.status === 0) return cand;
  }
  throw new Error('no pip found: install Python 3 with pip (Spark for the tests is installed from PyPI as pyspark)');
}

function javaMajor(java: string): number | undefined {
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr ?? ''}${res.stdout ?? ''}`);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major === 1 ? Number(m[2]) : major;
}

/**
 * A JAVA_HOME that Spark 4 runs on: Spark 4.x needs Java 17 or 21. `$JAVA_HOME` if it is one,
 * else a Java 17 or 21 under /usr/lib/jvm, else the `java` on PATH.
 */
export function findJavaHome(): string {
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(process.env.JAVA_HOME);
  if (existsSync('/usr/lib/jvm')) {
    for (const name of readdirSync('/usr/lib/jvm').sort())
      if (/(^|-)(17|21)(\.|-|$)/.test(name)) candidates.push(join('/usr/lib/jvm', name));
  }
  for (const home of candidates) {
    const java = join(home, 'bin', 'java');
    const major = existsSync(java) ? javaMajor(java) : undefined;
    if (major === 17 || major === 21) return home;
  }
  const which = spawnSync('sh', ['-c', 'readlink -f "$(command -v java)"'], { encoding: 'utf8' }).stdout.trim();
  if (which && (javaMajor(which) === 17 || javaMajor(which) === 21)) return join(which, '..', '..');
  throw new Error(
    'Spark 4 needs Java 17 or 21: install one (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME',
  );
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** A running local Spark Connect server. */
export interface SparkServer {
  /** Connection string for clients: `sc://127.0.0.1:<port>`. */
  remote: string;
  port: number;
  /** The driver's web UI (and its REST API under /api/v1), for memory sampling. */
  uiUrl: string;
  pid: number;
  logFile: string;
  /** Seconds from spawn until the gRPC port accepted connections. */
  startSeconds: number;
  /** Stops the server (SIGTERM, then SIGKILL after 15 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** The server's JVM (the watchdog shell's child when started with ownerPid), for tests that kill it; undefined once gone. */
  jvmPid(): number | undefined;
}

/** Options of startSparkConnect. */
export interface StartOptions {
  version?: string;
  /** `local[2]` unless told. */
  master?: string;
  port?: number;
  /** Extra Spark settings (`--conf k=v`). */
  conf?: Record<string, string>;
  /** The server's stdout and stderr go here (default: a file in the cache folder). */
  logFile?: string;
  /** Stop the server when this process exits, even by SIGKILL (a watchdog shell polls it). */
  ownerPid?: number;
  driverMemory?: string;
  timeoutMs?: number;
}

/** Starts one local Spark Connect server from the cached pyspark (installing it first if needed) and waits until it accepts connections. */
export async function startSparkConnect(opts: StartOptions = {}): Promise<SparkServer> {
  const version = opts.version ?? SPARK_VERSION;
  const { home } = installSpark(version, (l) => console.log(l));
  const javaHome = findJavaHome();
  const port = opts.port ?? (await freePort());
  const uiPort = await freePort();
  const logFile = opts.logFile ?? join(sparkCacheDir(), `spark-connect-${port}.log`);
  const conf: Record<string, string> = {
    'spark.connect.grpc.binding.address': '127.0.0.1',
    'spark.connect.grpc.binding.port': String(port),
    'spark.driver.host': '127.0.0.1',
    'spark.driver.bindAddress': '127.0.0.1',
    'spark.ui.port': String(uiPort),
    'spark.ui.showConsoleProgress': 'false',
    ...opts.conf,
  };
  const submit = [
    join(home, 'bin', 'spark-submit'),
    '--class',
    'org.apache.spark.sql.connect.service.SparkConnectServer',
    '--master',
    opts.master ?? 'local[2]',
    '--driver-memory',
    opts.driverMemory ?? '1g',
    ...Object.entries(conf).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
    '--name',
    'recount-spark-connect',
    connectJar(home, version),
  ];
  const quoted = submit.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // spark-submit ends in `exec java`, so $child is the JVM. The watchdog stops it when the owner dies.
  const script = opts.ownerPid
    ? `${quoted} & child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT
while kill -0 ${opts.ownerPid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done
kill -TERM $child 2>/dev/null; wait $child`
    : `exec ${quoted}`;
  const out = openSync(logFile, 'a');
  const started = Date.now();
  const child = spawn('bash', ['-c', script], {
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      SPARK_HOME: home,
      JAVA_HOME: javaHome,
      SPARK_LOCAL_IP: '127.0.0.1',
      PYSPARK_PYTHON: process.env.PYSPARK_PYTHON ?? 'python3',
    },
  });
  child.unref();
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
  const timeoutMs = opts.timeoutMs ?? 240_000;
  const tail = () => readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
  while (!(await canConnect(port))) {
    if (exited)
      throw new Error(`the Spark Connect server stopped while starting (${exited}); log ${logFile}:\n${tail()}`);
    if (Date.now() - started > timeoutMs) {
      killGroup(child.pid!, 'SIGKILL');
      throw new Error(
        `the Spark Connect server did not accept connections on port ${port} within ${timeoutMs / 1000} s; log ${logFile}:\n${tail()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const startSeconds = (Date.now() - started) / 1000;
  const pid = child.pid!;
  return {
    remote: `sc://127.0.0.1:${port}`,
    port,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    pid,
    logFile,
    startSeconds,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
    jvmPid: () => (exited ? undefined : opts.ownerPid ? childOf(pid) : pid),
  };
}

/** The JVM among a process's children (spark-submit execs into it; the watchdog's `sleep 1` is a child too). */
function childOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    const jvm = children.find((c) => commOf(c) === 'java');
    return jvm ? Number(jvm) : undefined;
  } catch {
    return undefined;
  }
}

function commOf(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined; // exited meanwhile
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
