// A Spark standalone cluster on this machine for tests that need real executors on distinct hosts: a master on
// 127.0.0.1 and one single-core worker per loopback address (127.0.0.2, 127.0.0.3, …). Spark never launches a
// speculative copy of a task on the host where the task already runs, and local / local-cluster masters put every
// executor on one host (and local mode runs no speculation at all): distinct hosts are what makes speculation real.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../helpers/project.ts';
import { findJavaHome, freePort, installSpark } from '../../spark/sparkServer.ts';

/** A running standalone cluster; `master` is its `spark://host:port` URL. */
export interface StandaloneCluster {
  readonly master: string;
  /** The loopback address of each worker, and so of its executor. */
  readonly hosts: readonly string[];
  /** Stops the master and the workers (and their executors). */
  stop(): void;
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
  });
}

/** Start a Spark daemon class in its own process group; a watchdog shell stops it when `ownerPid` dies. */
function startDaemon(home: string, javaHome: string, localIp: string, args: string[], log: string, ownerPid: number) {
  const quoted = [join(home, 'bin', 'spark-class'), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `${quoted} & child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT
while kill -0 ${ownerPid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done
kill -TERM $child 2>/dev/null; wait $child`;
  const out = openSync(log, 'a');
  const child = spawn('bash', ['-c', script], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, SPARK_HOME: home, JAVA_HOME: javaHome, SPARK_LOCAL_IP: localIp },
  });
  child.unref();
  return child.pid!;
}

/** Start a master and `workers` single-core workers of 1 GB, each on its own loopback address; resolves once they listen. */
export async function startStandaloneCluster(workers: number, ownerPid: number): Promise<StandaloneCluster> {
  const { home } = installSpark();
  const javaHome = findJavaHome();
  const dir = tempDir('recount-standalone-');
  const port = await freePort();
  const pids: number[] = [];
  const stop = () => {
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const masterArgs = ['org.apache.spark.deploy.master.Master', '--host', '127.0.0.1', '--port', String(port)];
  pids.push(
    startDaemon(
      home,
      javaHome,
      '127.0.0.1',
      [...masterArgs, '--webui-port', String(await freePort())],
      join(dir, 'master.log'),
      ownerPid,
    ),
  );
  const hosts = Array.from({ length: workers }, (_, i) => `127.0.0.${i + 2}`);
  for (const host of hosts) {
    const work = join(dir, host);
    mkdirSync(work);
    const args = ['org.apache.spark.deploy.worker.Worker', '--host', host, '--cores', '1', '--memory', '1g'];
    pids.push(
      startDaemon(
        home,
        javaHome,
        host,
        [...args, '--work-dir', work, '--webui-port', '0', `spark://127.0.0.1:${port}`],
        join(dir, `${host}.log`),
        ownerPid,
      ),
    );
  }
  const until = Date.now() + 240_000;
  while (!(await listening('127.0.0.1', port))) {
    if (Date.now() > until) {
      const log = readFileSync(join(dir, 'master.log'), 'utf8');
      stop();
      throw new Error(`the Spark master did not listen on 127.0.0.1:${port} within 240 s:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { master: `spark://127.0.0.1:${port}`, hosts, stop };
}
