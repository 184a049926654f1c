/**
 * Closing the server (SIGTERM to `rap controller` or `rap serve`): connections carrying no request are ended at
 * once, whatever they did before, so nothing a client leaves open holds the shutdown up; a request in flight still
 * gets its whole answer first.
 */
import { afterEach, expect, test } from "vitest";
import {
  type Connection,
  listenOnLoopback,
  open as openConnection,
  parseAnswer,
  request,
} from "./raw-http.js";
import { API, createBody, startApi, type TestApi } from "./support.js";

/** A create that is still being answered when the close starts. */
const SLOW_CREATE_MS = 500;

const apis: TestApi[] = [];
const connections: Connection[] = [];
afterEach(async () => {
  // The client's side first: a close that waits on a connection (the failure tested) still ends.
  for (const connection of connections.splice(0)) connection.socket.destroy();
  for (const api of apis.splice(0)) await api.close();
});

async function open(port: number): Promise<Connection> {
  const connection = await openConnection(port);
  connections.push(connection);
  return connection;
}

async function listening() {
  let createStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    createStarted = resolve;
  });
  const api = await startApi(undefined, {
    createJobs: async () => {
      createStarted();
      await new Promise((resolve) => setTimeout(resolve, SLOW_CREATE_MS));
      return { kind: "created", count: 1 };
    },
  });
  apis.push(api);
  return { api, port: await listenOnLoopback(api.app), createStarted: started };
}

test("a connection that never sent a request (a load balancer's, an aborted poll's) does not hold the close up", async () => {
  const { api, port } = await listening();
  const silent = await open(port);

  await api.app.close();
  await silent.closed;
  expect(silent.received().length).toBe(0);
});

test("a keep-alive connection between requests is closed too", async () => {
  const { api, port } = await listening();
  const kept = await open(port);
  kept.socket.write(`GET / HTTP/1.1\r\nhost: localhost\r\n\r\n`);
  await new Promise<void>((resolve) => kept.socket.once("data", () => resolve()));

  await api.app.close();
  expect(parseAnswer(await kept.closed).status).toBe(200);
});

test("a request in flight gets its whole answer before its connection closes; idle ones close at once", async () => {
  const { api, port, createStarted } = await listening();
  const busy = await open(port);
  const body = JSON.stringify(createBody());
  busy.socket.write(
    request("POST", `${API}/rap/create/`, { authorization: "test_token", connection: "keep-alive" }, body),
  );
  await createStarted;
  const idle = await open(port);

  const closing = api.app.close();
  await idle.closed;
  expect(busy.isClosed()).toBe(false);

  const answer = parseAnswer(await busy.closed);
  expect(answer.status).toBe(201);
  await closing;
});
