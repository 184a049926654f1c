/**
 * Closing the server ends connections that carry no request. Node's own `closeIdleConnections` leaves out a
 * connection that has not sent a request yet: one opened by a load balancer ahead of need, or by a client whose
 * request was aborted between connecting and sending (an agent stopping mid-poll does this). The server's close
 * then waits on it for as long as the client keeps it open. Here every connection counts its requests in progress;
 * once the server is closing, a connection with none is destroyed, and one with some is destroyed when they are
 * answered, so a request in flight still gets its whole answer.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

export function closeIdleConnectionsOnClose(app: FastifyInstance): void {
  const inFlight = new Map<Socket, number>();
  let closing = false;

  const server: Server = app.server;
  server.on("connection", (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    inFlight.set(socket, 0);
    socket.once("close", () => inFlight.delete(socket));
  });
  server.on("request", (request, response) => {
    const socket = request.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once("close", () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      if (closing && left === 0) socket.destroy();
    });
  });
  app.addHook("preClose", (done) => {
    closing = true;
    for (const [socket, requests] of inFlight) if (requests === 0) socket.destroy();
    done();
  });
}
