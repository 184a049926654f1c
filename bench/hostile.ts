/**
 * Hostile and oversized requests against a real listening controller (real SQLite, real local git repositories):
 * for each attack, the answer's status and size, how long it took, and the longest time the event loop was blocked
 * meanwhile (what every other client waits). Prints a table and writes bench/results/hostile.json. Run with
 * `npx tsx bench/hostile.ts`; HOSTILE_STALL_WAIT_S (default 40) bounds the wait on a stalled body.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pino from "pino";
import { openController } from "../src/app/controller.js";
import { loadConfig } from "../src/config/index.js";
import type { SqliteStorage } from "../src/db/sqlite-storage.js";
import { createStudyRepo } from "../test/support/git-fixtures.js";
import { runAllCreateBody } from "./create-body.js";

const ROOT = resolve(import.meta.dirname, "..");
const STALL_WAIT_MS = Number(process.env.HOSTILE_STALL_WAIT_S ?? 40) * 1000;
const TOKEN = "bench_token";
const AGENT_TOKEN = "bench_agent_token";

interface Raw {
  status: number | null;
  bytes: number;
  head: string;
  ms: number;
  closedByServer: boolean;
}

/** Sends `request` as it is on a fresh connection; reads until the server closes or `waitMs` passes. */
function raw(port: number, request: Buffer | string, waitMs = 120_000): Promise<Raw> {
  return new Promise((done) => {
    const start = performance.now();
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1");
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, waitMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      const status = /^HTTP\/1\.1 (\d+)/.exec(all.subarray(0, 20).toString("latin1"));
      done({
        status: status ? Number(status[1]) : null,
        bytes: split < 0 ? 0 : all.length - split - 4,
        head: split < 0 ? "" : all.subarray(split + 4, split + 4 + 160).toString("latin1"),
        ms: performance.now() - start,
        closedByServer,
      });
    });
    socket.write(request);
  });
}

function post(path: string, body: string | Buffer, extra = ""): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = `POST /controller/v1${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nConnection: close\r\nContent-Length: ${bytes.length}\r\n${extra}\r\n`;
  return Buffer.concat([Buffer.from(head), bytes]);
}

function createBody(repoUrl: string, commit: string, overrides: Record<string, unknown> = {}): string {
  const create = {
    rapId: `bench${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`,
    workspace: `ws${Math.floor(Math.random() * 1e9)}`,
    repoUrl,
    commit,
  };
  return JSON.stringify(runAllCreateBody(create, overrides));
}

const outputs = (name: string) => `    outputs: {moderately_sensitive: {t: output/${name}.csv}}\n`;

function aliasBomb(aliases: number): string {
  const big = "x".repeat(1_000_000);
  const list = Array.from({ length: aliases }, () => "*s").join(", ");
  return `version: "4.0"\nactions:\n  a:\n    run: python:v2 a.py\n    config: {big: &s "${big}", l: [${list}]}\n${outputs("a")}`;
}

function needsChain(length: number): string {
  const actions = Array.from(
    { length },
    (_, i) =>
      `  a${i}:\n    run: python:v2 a.py ${i}\n${i > 0 ? `    needs: [a${i - 1}]\n` : ""}${outputs(`a${i}`)}`,
  );
  return `version: "4.0"\nactions:\n${actions.join("")}`;
}

const pathNames = `version: "4.0"\nactions:\n  ../../evil:\n    run: python:v2 a.py\n${outputs("a")}`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rap-hostile-"));
  const env = {
    BACKENDS: "test,tpp",
    TEST_CLIENT_TOKENS: TOKEN,
    TPP_CLIENT_TOKENS: "tpp_only",
    ALLOW_LOCAL_GIT_REPOS: "true",
    TEST_JOB_SERVER_TOKEN: AGENT_TOKEN,
    TEST_MAX_WORKERS: "1000",
    TPP_JOB_SERVER_TOKEN: "bench_tpp_agent_token",
    RESOLVE_IMAGE_DIGESTS: "false",
    WORKDIR: join(dir, "work"),
  };
  const config = loadConfig(env);
  mkdirSync(config.workdir, { recursive: true });
  const controller = await openController(config, { log: pino({ level: "silent" }) });
  const { app } = controller;
  // This benchmark inspects the SQLite database the controller opened.
  const db = (controller.storage as SqliteStorage).db;
  const databasePath = join(config.workdir, "db.sqlite");
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as { port: number }).port;
  const repo = async (yaml: string) => {
    const made = await createStudyRepo({ files: { "project.yaml": yaml } });
    return { url: made.path, commit: made.commits[0]! };
  };

  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const rows: Record<string, unknown>[] = [];
  const attack = async (name: string, run: () => Promise<Raw>) => {
    loop.reset();
    const answer = await run();
    rows.push({
      attack: name,
      status: answer.closedByServer ? (answer.status ?? "closed") : "still open",
      answerBytes: answer.bytes,
      ms: Math.round(answer.ms),
      maxLoopBlockMs: Math.round(loop.max / 1e6),
      answerStart: answer.head.slice(0, 110),
      note: "",
    });
    console.error(JSON.stringify(rows.at(-1)));
  };

  // 1. A stalled body.
  await attack("stalled body (Content-Length 100, 5 bytes sent)", () =>
    raw(
      port,
      `POST /controller/v1/rap/status/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Length: 100\r\n\r\n{"rap`,
      STALL_WAIT_MS,
    ),
  );

  // 2. YAML aliases.
  for (const aliases of [50, 2000]) {
    const r = await repo(aliasBomb(aliases));
    await attack(`create: 1 MB string aliased x${aliases}`, () =>
      raw(port, post("/rap/create/", createBody(r.url, r.commit))),
    );
    const longest = await db
      .selectFrom("job")
      .select((eb) => eb.fn.max(eb.fn("length", ["run_command"])).as("n"))
      .executeTakeFirst();
    rows.at(-1)!.note =
      `longest run_command ${longest?.n ?? 0} bytes; db ${statSync(databasePath).size} bytes`;
  }
  await attack("status of the alias RAPs (all rap_ids in the db)", async () => {
    const ids = (await db.selectFrom("job").select("rap_id").distinct().execute()).map((row) => row.rap_id);
    return raw(port, post("/rap/status/", JSON.stringify({ rap_ids: ids })));
  });

  // 3. Deep needs.
  {
    const r = await repo(needsChain(6000));
    await attack("create: 6,000 chained needs", () =>
      raw(port, post("/rap/create/", createBody(r.url, r.commit, { requested_actions: ["a5999"] }))),
    );
  }

  // 4. Errors outside our shape.
  await attack("header of 20 kB", () =>
    raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\nConnection: close\r\n\r\n`),
  );
  await attack("control character in a header", () =>
    raw(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\nConnection: close\r\n\r\n"),
  );
  await attack("unknown method", () => raw(port, "FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  await attack("bad percent-encoding", () =>
    raw(port, `GET /controller/v1/rap/%zz/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );

  // 5. Large valid inputs.
  const ids = Array.from({ length: 580_000 }, (_, i) => `r${String(i).padStart(15, "0")}`);
  await attack("status: 10 MB body, 580,000 rap_ids", () =>
    raw(port, post("/rap/status/", JSON.stringify({ rap_ids: ids }))),
  );
  await attack("status: a 5-million-digit integer", () =>
    raw(port, post("/rap/status/", `{"rap_ids": ${"7".repeat(5_000_000)}}`)),
  );
  await attack("status: a 15.6 MB string", () =>
    raw(port, post("/rap/status/", `{"rap_ids": "${"\\u0001".repeat(2_600_000)}"}`)),
  );

  // Within the body limit: the worst cases left.
  await attack("status: 12,000 rap_ids (230 kB)", () =>
    raw(port, post("/rap/status/", JSON.stringify({ rap_ids: ids.slice(0, 12_000) }))),
  );
  await attack("status: 1 MB of small integers", () =>
    raw(port, post("/rap/status/", `{"rap_ids": [${Array.from({ length: 500_000 }, () => "1").join(",")}]}`)),
  );
  await attack("status: a 5,000-digit integer", () =>
    raw(port, post("/rap/status/", `{"rap_ids": ${"7".repeat(5_000)}}`)),
  );
  await attack("status: a 1 MB string", () =>
    raw(port, post("/rap/status/", `{"rap_ids": "${"\\u0001".repeat(170_000)}"}`)),
  );

  // 6. Names used as paths.
  {
    const r = await repo(pathNames);
    await attack("create: action named ../../evil", () =>
      raw(port, post("/rap/create/", createBody(r.url, r.commit))),
    );
  }

  // 7. Small leaks.
  await attack("create: NUL in a local repo_url", () =>
    raw(port, post("/rap/create/", createBody("/tmp/a\u0000b", "0".repeat(40)))),
  );
  await attack("create: 100,000-character local path", () =>
    raw(port, post("/rap/create/", createBody(`/${"a".repeat(100_000)}`, "0".repeat(40)))),
  );
  {
    const r = await repo(needsChain(2));
    const rapId = "tpponly000000001";
    const tppOnly = (body: string) =>
      Buffer.from(
        post("/rap/create/", body).toString().replace(`Authorization: ${TOKEN}`, "Authorization: tpp_only"),
      );
    await raw(port, tppOnly(createBody(r.url, r.commit, { backend: "tpp", rap_id: rapId })));
    await attack("create: another backend's rap_id, rest matching", () =>
      raw(port, post("/rap/create/", createBody(r.url, r.commit, { rap_id: rapId }))),
    );
  }

  // 8. Agents' task updates (issue 14): each against a fresh RUNJOB task, then what rap/status and a pass make of it.
  {
    const r = await repo(needsChain(1));
    const runJob = async () => {
      const rapId = `bench${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
      await raw(
        port,
        post("/rap/create/", createBody(r.url, r.commit, { rap_id: rapId, requested_actions: ["a0"] })),
      );
      await controller.scheduler.tick();
      const task = await db
        .selectFrom("tasks")
        .select("id")
        .where("id", "like", "%-001")
        .orderBy("created_at", "desc")
        .where("job_id", "in", db.selectFrom("job").select("id").where("rap_id", "=", rapId))
        .executeTakeFirstOrThrow();
      return { rapId, taskId: task.id };
    };
    const update = (payload: string) => {
      const body = `payload=${encodeURIComponent(payload)}`;
      return `POST /test/task/update/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${AGENT_TOKEN}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const fields = (taskId: string, rest: string) =>
      `{"task_id":"${taskId}","stage":"executing","complete":false,${rest}}`;
    /** After the attack: a pass, then rap/status for the job's RAP (status, bytes) as the row's note. */
    const aftermath = async (rapId: string) => {
      const pass = await controller.scheduler.tick().then(
        (report) => `pass: ${report.failed} failed`,
        (error: Error) => `pass threw ${error.message}`,
      );
      const status = await raw(port, post("/rap/status/", JSON.stringify({ rap_ids: [rapId] })));
      const job = await db
        .selectFrom("job")
        .select("status_code")
        .where("rap_id", "=", rapId)
        .executeTakeFirst();
      rows.at(-1)!.note =
        `then ${pass}; rap/status ${status.status} (${status.bytes} bytes); job ${job?.status_code}`;
    };
    const hostileUpdates: [string, (taskId: string) => string][] = [
      ["timestamp_ns 1e300", (id) => fields(id, '"timestamp_ns":1e300')],
      ["results.job_metrics NaN", (id) => fields(id, '"results":{"job_metrics":{"cpu_peak":NaN}}')],
      ["results.exit_code 1e300", (id) => fields(id, '"results":{"exit_code":1e300}')],
      [
        "results nested 5,000 deep",
        (id) => fields(id, `"results":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`),
      ],
      [
        "700 KB status message (complete)",
        (id) =>
          `{"task_id":"${id}","stage":"finalized","complete":true,"results":{"exit_code":"1","status_message":"${"x".repeat(700_000)}"}}`,
      ],
      ["unknown task id", () => fields("nosuchtask-001", '"timestamp_ns":null')],
    ];
    for (const [name, payload] of hostileUpdates) {
      const { rapId, taskId } = await runJob();
      await attack(`task update: ${name}`, () => raw(port, update(payload(taskId))));
      await aftermath(rapId);
    }
    {
      const { rapId, taskId } = await runJob();
      const now = BigInt(Date.now()) * 1_000_000n;
      await raw(
        port,
        update(
          `{"task_id":"${taskId}","stage":"finalized","complete":true,"timestamp_ns":${now},"results":{"exit_code":"0"}}`,
        ),
      );
      await attack("task update: complete, then an older incomplete one", () =>
        raw(port, update(fields(taskId, `"timestamp_ns":${now - 5_000_000_000n}`))),
      );
      await aftermath(rapId);
      const task = await db
        .selectFrom("tasks")
        .select(["active", "agent_complete"])
        .where("id", "=", taskId)
        .executeTakeFirstOrThrow();
      rows.at(-1)!.note += `; task active=${task.active} complete=${task.agent_complete}`;
    }
  }

  loop.disable();
  await controller.close();
  rmSync(dir, { recursive: true, force: true });

  const lines = [
    "| attack | status | answer bytes | ms | max loop block ms | answer starts / note |",
    "|---|---|---:|---:|---:|---|",
  ];
  for (const row of rows) {
    const text = `${row.answerStart} ${row.note}`.replaceAll("|", "\\|").replace(/\s+/g, " ").trim();
    lines.push(
      `| ${row.attack} | ${row.status} | ${row.answerBytes} | ${row.ms} | ${row.maxLoopBlockMs} | ${text} |`,
    );
  }
  console.log(lines.join("\n"));
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "hostile.json"), `${JSON.stringify(rows, null, 2)}\n`);
}

await main();
