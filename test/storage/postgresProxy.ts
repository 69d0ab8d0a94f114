import net from 'node:net';

const COMMIT = Buffer.from('COMMIT\0');

/**
 * A TCP proxy in front of the test server, for connection faults a server alone cannot make:
 * - losing the answer to a COMMIT: the server commits, and the client sees its connection drop before it
 *   learns so. That is the one connection loss whose outcome a client cannot tell by itself;
 * - a partition: every connection dropped, and new ones refused, until it heals.
 */
export class PostgresProxy {
  readonly #server: net.Server;
  readonly #upstream: URL;
  readonly #sockets = new Set<net.Socket>();
  #armed: (() => void) | undefined;
  #cut = false;

  private constructor(server: net.Server, upstream: URL) {
    this.#server = server;
    this.#upstream = upstream;
  }

  static async start(upstreamUrl: string): Promise<PostgresProxy> {
    const upstream = new URL(upstreamUrl);
    const server = net.createServer();
    const proxy = new PostgresProxy(server, upstream);
    server.on('connection', (client) => proxy.#relay(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The upstream URL (its path and query kept) with the proxy's address in place of the server's. */
  get url(): string {
    const url = new URL(this.#upstream);
    const { port } = this.#server.address() as net.AddressInfo;
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return url.toString();
  }

  /** Drops the connection of the next COMMIT once the server has answered it; resolves when it has. */
  dropNextCommitAnswer(): Promise<void> {
    return new Promise((resolve) => {
      this.#armed = resolve;
    });
  }

  /** Drops every connection, and refuses new ones until {@link heal}. */
  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  heal(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #relay(client: net.Socket): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    const server = net.connect(Number(this.#upstream.port || 5432), this.#upstream.hostname);
    this.#sockets.add(client).add(server);
    let committing = false;
    const end = () => {
      client.destroy();
      server.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(server);
    };
    client.on('data', (chunk: Buffer) => {
      if (this.#armed !== undefined && chunk.includes(COMMIT)) committing = true;
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (committing && chunk.includes(COMMIT)) {
        const dropped = this.#armed!;
        this.#armed = undefined;
        end();
        dropped();
        return;
      }
      client.write(chunk);
    });
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  }
}
