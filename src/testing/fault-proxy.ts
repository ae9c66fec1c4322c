import net from 'node:net';

/**
 * A TCP proxy between a client and a server that can fail the way networks do, for liveness tests: `freeze()`
 * stops forwarding in both directions without closing anything (a peer that silently stops answering, no FIN, no
 * RST, no GOAWAY), `reset()` destroys every connection.
 */
export class FaultProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private frozen = false;
  /** Connections accepted so far. */
  connections = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.connect(client));
  }

  /** Starts a proxy on a free port of 127.0.0.1 forwarding to `target` (`host:port`). */
  static async start(target: string): Promise<FaultProxy> {
    const at = target.lastIndexOf(':');
    const proxy = new FaultProxy(target.slice(0, at), Number(target.slice(at + 1)));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }

  /** `127.0.0.1:port` to point a client at. */
  get target(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Stops forwarding bytes, keeping every socket open. New connections are accepted and frozen too. */
  freeze(): void {
    this.frozen = true;
    for (const [a, b] of this.pairs) {
      a.pause();
      b.pause();
    }
  }

  /** Forwards again. */
  thaw(): void {
    this.frozen = false;
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  /** Destroys every open connection (a reset). */
  reset(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Resets every connection and stops listening. */
  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private connect(client: net.Socket): void {
    this.connections += 1;
    const upstream = net.connect(this.targetPort, this.targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    for (const socket of pair) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    // 'data' handlers rather than pipe(): a paused socket stays paused, and buffered bytes are held, not flushed.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    if (this.frozen) {
      client.pause();
      upstream.pause();
    }
  }
}
