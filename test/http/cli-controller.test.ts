/**
 * `rap controller` and `rap serve` as an operator runs them: the built command (test/support/global-setup.ts builds
 * dist/ once) on a free port, answering over real HTTP, and stopping cleanly on SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { cliPath, runCli } from "../support/cli.js";

const TOKEN = "s3cret-client-token";
const running: { child: ChildProcess; workdir: string }[] = [];

afterEach(() => {
  for (const { child, workdir } of running.splice(0)) {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(workdir, { recursive: true, force: true });
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function start(command: "controller" | "serve") {
  const workdir = mkdtempSync(join(tmpdir(), "rap-cli-"));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? "",
    BACKENDS: "test",
    TEST_CLIENT_TOKENS: TOKEN,
    WORKDIR: workdir,
    PORT: String(port),
  };
  const child = spawn(process.execPath, [cliPath, command], { env, stdio: ["ignore", "pipe", "pipe"] });
  running.push({ child, workdir });
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
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
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
