import net from 'node:net';

/**
 * A database address that never answers: `silent` accepts TCP and says nothing (not even to the startup message);
 * `mute` lets the client log in (AuthenticationOk, ReadyForQuery), then never answers a statement. The PostgreSQL
 * wire protocol's startup reply is two messages, written here by hand.
 */
export interface MuteDatabase {
  /** `postgres://agent@127.0.0.1:<port>/db`. */
  connectionString: string;
  /** Connections open now (from the client's side: it ended or abandoned the others). */
  open(): number;
  stop(): Promise<void>;
}

export async function startMuteDatabase(mode: 'silent' | 'mute'): Promise<MuteDatabase> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let loggedIn = false;
    // Read (and drop) what comes: a paused socket would never see its peer end.
    socket.on('data', () => {
      if (mode === 'silent' || loggedIn) return;
      loggedIn = true;
      const authOk = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]); // 'R', length 8, AuthenticationOk
      const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // 'Z', length 5, idle
      socket.write(Buffer.concat([authOk, ready]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    connectionString: `postgres://agent@127.0.0.1:${port}/db`,
    open: () => sockets.size,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
