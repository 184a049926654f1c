/**
 * A TCP proxy on loopback in front of a server (PostgreSQL), which a test can cut as a network would be cut:
 * `stopForwarding` holds every byte either way (and new connections unanswered) until `forward` lets them through
 * again, as a partition that heals does; `dropConnections` resets every connection and refuses new ones until
 * `forward`, as a restarted firewall or proxy does.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

type Mode = "forwarding" | "held" | "refusing";

interface Link {
  client: Socket;
  upstream: Socket | undefined;
}

export class TcpProxy {
  private mode: Mode = "forwarding";
  private readonly links = new Set<Link>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on("connection", (client) => this.accept(client));
  }

  /** A proxy on a free loopback port, forwarding to `host:port`. */
  static async start(host: string, port: number): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, { host, port });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Holds every byte and every new connection until `forward`. */
  stopForwarding(): void {
    this.mode = "held";
    for (const link of this.links) this.hold(link);
  }

  /** Resets every connection, and refuses new ones until `forward`. */
  dropConnections(): void {
    this.mode = "refusing";
    for (const link of this.links) this.end(link);
  }

  /** Forwards again: what was held flows on, held connections reach the server. */
  forward(): void {
    this.mode = "forwarding";
    for (const link of this.links) this.join(link);
  }

  async close(): Promise<void> {
    for (const link of this.links) this.end(link);
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket): void {
    // A reset socket reports ECONNRESET: expected here, whichever side it comes from.
    client.on("error", () => undefined);
    if (this.mode === "refusing") {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined };
    this.links.add(link);
    client.on("error", () => this.end(link));
    client.on("close", () => this.end(link));
    client.pause();
    if (this.mode === "forwarding") this.join(link);
  }

  /** Connects the link upstream (once) and lets bytes flow both ways. */
  private join(link: Link): void {
    if (!link.upstream) {
      link.upstream = createConnection(this.target);
      link.upstream.on("error", () => this.end(link));
      link.upstream.on("close", () => this.end(link));
    }
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
  }

  /** Stops both directions: what arrives waits in the sockets' buffers (and the kernel's). */
  private hold(link: Link): void {
    link.client.unpipe();
    link.client.pause();
    if (link.upstream) {
      link.upstream.unpipe();
      link.upstream.pause();
    }
  }

  private end(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.resetAndDestroy();
    link.upstream?.resetAndDestroy();
  }
}
