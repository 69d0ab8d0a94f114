import net from 'node:net';

const COMMIT = Buffer.from('COMMIT\0');

/**
 * A TCP proxy in front of the test server that can lose the answer to a COMMIT: the server commits, and
 * the client sees its connection drop before it learns so. That is the one connection loss whose outcome
 * a client cannot tell by itself.
 */
export class CommitDroppingProxy {
  readonly #server: net.Server;
  readonly #upstream: URL;
  readonly #sockets = new Set<net.Socket>();
  #armed: (() => void) | undefined;

  private constructor(server: net.Server, upstream: URL) {
    this.#server = server;
    this.#upstream = upstream;
  }

  static async start(upstreamUrl: string): Promise<CommitDroppingProxy> {
    const upstream = new URL(upstreamUrl);
    const server = net.createServer();
    const proxy = new CommitDroppingProxy(server, upstream);
    server.on('connection', (client) => proxy.#relay(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The upstream URL with the proxy's address in place of the server's. */
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

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #relay(client: net.Socket): void {
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
