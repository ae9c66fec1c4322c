import http from 'node:http';
import net from 'node:net';

/** Options of {@link ConnectProxy.start}. */
export interface ConnectProxyOptions {
  /** BasicAuth credentials the proxy requires; none = an open proxy. */
  user?: string;
  /** The password that goes with `user`. */
  password?: string;
  /** The only destination ports CONNECT may reach (others get 403). @default any */
  allowPorts?: number[];
}

/**
 * A small HTTP CONNECT proxy on loopback, for trying an agent's proxy settings without installing one: BasicAuth
 * (401 for wrong credentials, 407 for none), an allow-list of ports (403), and a log of the tunnels it opened.
 * The SDK's own tests use Debian's tinyproxy; this one is for examples and for users' quick checks.
 */
export class ConnectProxy {
  /** `host:port` of every tunnel opened, in order. */
  readonly tunnels: string[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server,
    private readonly options: ConnectProxyOptions,
  ) {}

  /** Starts a proxy on a free port of 127.0.0.1. */
  static async start(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
    const server = http.createServer((_req, res) => {
      res.writeHead(405, { allow: 'CONNECT' });
      res.end();
    });
    const proxy = new ConnectProxy(server, options);
    server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) =>
      proxy.tunnel(req, client, head),
    );
    server.on('connection', (socket: net.Socket) => proxy.track(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `http://[user:password@]127.0.0.1:port`, for the manager's `proxy` option. */
  get url(): string {
    const { port } = this.server.address() as net.AddressInfo;
    const { user, password } = this.options;
    return user === undefined
      ? `http://127.0.0.1:${port}`
      : `http://${encodeURIComponent(user)}:${encodeURIComponent(password ?? '')}@127.0.0.1:${port}`;
  }

  /** Closes the proxy and every tunnel. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private tunnel(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    const refuse = (status: number, text: string): void => void client.end(`HTTP/1.1 ${status} ${text}\r\n\r\n`);
    client.on('error', () => undefined);
    const { user, password, allowPorts } = this.options;
    if (user !== undefined) {
      const given = /^Basic (.+)$/.exec(req.headers['proxy-authorization'] ?? '');
      if (given === null) return refuse(407, 'Proxy Authentication Required');
      if (Buffer.from(given[1] as string, 'base64').toString() !== `${user}:${password ?? ''}`)
        return refuse(401, 'Unauthorized');
    }
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? '');
    if (match === null) return refuse(400, 'Bad Request');
    const port = Number(match[2]);
    if (allowPorts !== undefined && !allowPorts.includes(port)) return refuse(403, 'Forbidden');
    const host = (match[1] as string).replace(/^\[|\]$/g, '');
    let established = false;
    const upstream = net.connect(port, host, () => {
      established = true;
      this.tunnels.push(req.url as string);
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.track(upstream);
    // Before the tunnel is up the client still expects an HTTP answer; after, the bytes are the tunnel's own.
    upstream.on('error', () => (established ? client.destroy() : refuse(502, 'Bad Gateway')));
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }
}
