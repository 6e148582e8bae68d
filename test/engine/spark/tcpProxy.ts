// A TCP proxy on 127.0.0.1 in front of the test Spark Connect server, to cut real connections in fault tests.
import { createServer, connect, type Socket, type Server } from 'node:net';

/** A running proxy: `cut()` resets every open connection and keeps listening; `close()` stops listening too. */
export interface TcpProxy {
  port: number;
  cut(): void;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<free port> to host:port. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host, port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const cut = () => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    cut,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        cut();
      }),
  };
}
