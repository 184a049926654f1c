/**
 * `rap controller` and `rap serve` as an operator runs them: the built command (test/support/global-setup.ts builds
 * dist/ once) on a free port, answering over real HTTP, and stopping cleanly on SIGTERM; on SQLite in WORKDIR, or
 * on a PostgreSQL DATABASE_URL in the `postgres` project.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { cliPath, runCli } from "../support/cli.js";
import { testDatabaseEnv } from "../support/db.js";
import { freePort } from "../support/ports.js";

const TOKEN = "s3cret-client-token";
const running: { child: ChildProcess; exited: Promise<unknown>; workdir: string; drop(): Promise<void> }[] =
  [];

afterEach(async () => {
  for (const { child, exited, workdir, drop } of running.splice(0)) {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
    await drop();
    rmSync(workdir, { recursive: true, force: true });
  }
});

async function start(command: "controller" | "serve", extraEnv: Record<string, string> = {}) {
  const workdir = mkdtempSync(join(tmpdir(), "rap-cli-"));
  const port = await freePort();
  const database = await testDatabaseEnv();
  const env = {
    PATH: process.env.PATH ?? "",
    ...database.env,
    BACKENDS: "test",
    TEST_CLIENT_TOKENS: TOKEN,
    WORKDIR: workdir,
    PORT: String(port),
    ...extraEnv,
  };
  const child = spawn(process.execPath, [cliPath, command], { env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  running.push({ child, exited, workdir, drop: database.drop });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (output.includes("listening at")) {
        clearInterval(check);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(check);
        reject(new Error(`rap ${command} exited: ${output}`));
      }
    }, 20);
  });
  return { env, port, child, exited, output: () => output };
}

test("rap controller serves the RAP API, shows flags set with the CLI, and stops on SIGTERM", async () => {
  const server = await start("controller");
  expect(server.output()).toContain(`RAP API listening at http://127.0.0.1:${server.port}/controller/v1/`);
  expect(server.output()).toContain("TEST_JOB_SERVER_TOKEN is not set");

  const url = `http://127.0.0.1:${server.port}/controller/v1/backend/status/`;
  const before = await fetch(url, { headers: { authorization: TOKEN } });
  expect(before.status).toBe(200);
  expect(((await before.json()) as { backends: { paused: unknown }[] }).backends[0]!.paused).toEqual({
    status: "off",
    since: null,
  });

  expect((await runCli(["pause", "on", "test"], server.env)).code).toBe(0);
  const after = (await (await fetch(url, { headers: { authorization: TOKEN } })).json()) as {
    backends: { paused: { status: string } }[];
  };
  expect(after.backends[0]!.paused.status).toBe("on");

  expect((await fetch(url, { headers: { authorization: "wrong" } })).status).toBe(401);
  expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(200);

  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  expect(server.output()).not.toContain(TOKEN);
});

test("rap serve is, for now, the same server", async () => {
  const server = await start("serve");
  const answer = await fetch(`http://127.0.0.1:${server.port}/controller/v1/rap/status/`, {
    method: "POST",
    headers: { authorization: TOKEN },
    body: '{"rap_ids": []}',
  });
  expect(await answer.json()).toEqual({ jobs: [], unrecognised_rap_ids: [] });
  server.child.kill("SIGINT");
  expect(await server.exited).toBe(0);
});

/** A stand-in for an OTLP collector (Honeycomb in production): records what it is sent. */
async function startCollector(status = 200) {
  const received: { url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(status, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, received, close: () => server.close() };
}

test("with OTEL_EXPORTER_OTLP_HEADERS, request spans go to the OTLP endpoint, sent at the latest on shutdown", async () => {
  const collector = await startCollector();
  try {
    const server = await start("controller", {
      // Quoted, as deployment files often have it: the quotes are not part of the header.
      OTEL_EXPORTER_OTLP_HEADERS: '"x-honeycomb-team=s3cret-api-key"',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: "rap-controller",
    });
    const answer = await fetch(`http://127.0.0.1:${server.port}/controller/v1/backend/status/`, {
      headers: { authorization: TOKEN },
    });
    expect(answer.status).toBe(200);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);

    // The HTTP server's spans and the scheduler's (its LOOP spans, sent from its own thread): a batch each at least.
    expect(collector.received.length).toBeGreaterThanOrEqual(2);
    for (const sent of collector.received) {
      expect(sent.url).toBe("/v1/traces");
      expect(sent.headers["x-honeycomb-team"]).toBe("s3cret-api-key");
      expect(sent.headers["content-type"]).toBe("application/x-protobuf");
      // Protobuf keeps strings as they are: the spans' names and the resource's service name.
      expect(sent.body.toString("latin1")).toContain("rap-controller");
    }
    const body = collector.received.map((sent) => sent.body.toString("latin1")).join("");
    expect(body).toContain("GET controller/v1/backend/status/");
    expect(body).toContain("LOOP");
    expect(body).not.toContain(TOKEN);
    expect(server.output()).not.toContain("s3cret-api-key");
  } finally {
    collector.close();
  }
});

test("with OTEL_EXPORTER_CONSOLE, request spans are printed", async () => {
  const server = await start("controller", { OTEL_EXPORTER_CONSOLE: "true" });
  await fetch(`http://127.0.0.1:${server.port}/controller/v1/backend/status/`, {
    headers: { authorization: TOKEN },
  });
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  expect(server.output()).toContain("'http.route': 'controller/v1/backend/status/'");
  expect(server.output()).toContain("'http.response.status_code': 200");
  expect(server.output()).not.toContain(TOKEN);
});

test("a collector that refuses spans costs a warning in the log, not a failed shutdown", async () => {
  const collector = await startCollector(503);
  try {
    const server = await start("controller", {
      OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=s3cret-api-key",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    });
    await fetch(`http://127.0.0.1:${server.port}/controller/v1/backend/status/`, {
      headers: { authorization: TOKEN },
    });
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    // Each sender tried once: the HTTP server and the scheduler's thread.
    expect(collector.received).toHaveLength(2);
    expect(server.output()).toContain("could not send the last spans");
    expect(server.output()).toContain(`OTLP export to ${collector.url}/v1/traces answered 503`);
    expect(server.output()).not.toContain("s3cret-api-key");
  } finally {
    collector.close();
  }
});
