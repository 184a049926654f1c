/**
 * Raw HTTP/1.1 over a TCP socket to a listening app on 127.0.0.1, for what `app.inject` cannot do: malformed
 * requests, bodies that never finish, connections left open.
 */

import { connect, type Socket } from "node:net";
import type { FastifyInstance } from "fastify";

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

/** Starts the app on a free loopback port and returns the port. */
export async function listenOnLoopback(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  return (app.server.address() as { port: number }).port;
}

/** Parses everything the server sent on one connection (a single response). */
export function parseAnswer(bytes: Buffer): RawAnswer {
  const text = bytes.toString("latin1");
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) throw new Error(`no complete response in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = bytes.subarray(Buffer.byteLength(text.slice(0, split + 4), "latin1")).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine!)?.[1]), headers, body, json };
}

/** An open connection: what the server has sent so far, and a promise for when the server closes it. */
export interface Connection {
  readonly socket: Socket;
  received(): Buffer;
  readonly closed: Promise<Buffer>;
  isClosed(): boolean;
}

export function open(port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let isClosed = false;
    socket.on("data", (chunk) => chunks.push(chunk));
    // A reset after the answer (the server destroys the socket) is still a close.
    socket.on("error", () => {});
    const closed = new Promise<Buffer>((done) =>
      socket.on("close", () => {
        isClosed = true;
        done(Buffer.concat(chunks));
      }),
    );
    socket.once("connect", () =>
      resolve({ socket, received: () => Buffer.concat(chunks), closed, isClosed: () => isClosed }),
    );
    socket.once("error", reject);
  });
}

/** Sends the bytes as they are and returns the answer once the server has closed the connection. */
export async function exchange(port: number, request: string | Buffer): Promise<RawAnswer> {
  const connection = await open(port);
  connection.socket.write(request);
  return parseAnswer(await connection.closed);
}

/** A request with `Connection: close`, so the server closes the connection after answering. */
export function request(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = "",
): string {
  const lines = Object.entries({ host: "localhost", connection: "close", ...headers }).map(
    ([name, value]) => `${name}: ${value}\r\n`,
  );
  const length = body === "" && method === "GET" ? "" : `content-length: ${Buffer.byteLength(body)}\r\n`;
  return `${method} ${path} HTTP/1.1\r\n${lines.join("")}${length}\r\n${body}`;
}
