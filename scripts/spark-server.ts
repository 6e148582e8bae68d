// Local Spark Connect server for development and CI:
//   node --import tsx scripts/spark-server.ts install        pip-installs pyspark into ~/.cache/recount (or $RECOUNT_SPARK_CACHE)
//   node --import tsx scripts/spark-server.ts start [port]   runs a server in the foreground until Ctrl-C; prints its sc:// address
import { installSpark, SPARK_VERSION, startSparkConnect } from '../test/spark/sparkServer.ts';

const [cmd, portArg] = process.argv.slice(2);
if (cmd === 'install') {
  const { home, seconds, installed } = installSpark(SPARK_VERSION, (l) => console.log(l));
  console.log(
    installed
      ? `pyspark ${SPARK_VERSION} installed in ${seconds.toFixed(0)} s: SPARK_HOME=${home}`
      : `pyspark ${SPARK_VERSION} already installed: SPARK_HOME=${home}`,
  );
} else if (cmd === 'start') {
  const server = await startSparkConnect({ port: portArg ? Number(portArg) : undefined, ownerPid: process.pid });
  console.log(
    `RECOUNT_SPARK_REMOTE=${server.remote}  (up in ${server.startSeconds.toFixed(1)} s; UI ${server.uiUrl}; log ${server.logFile})`,
  );
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
} else {
  console.error('usage: scripts/spark-server.ts install | start [port]');
  process.exit(2);
}
