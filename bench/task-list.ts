/**
 * `npm run bench:task-list`: `GET /{backend}/tasks/` with 1,000 active tasks (about 1.1 MB), one client asking again
 * and again over a kept-alive loopback connection, against a plain SELECT of the same rows in the same process (the
 * floor the issue names). Cases:
 *   - nothing changed between polls: the kept answer;
 *   - the database changed between polls, not the backend's tasks (another backend's task ended): the stamps
 *     are read again, the kept answer is served;
 *   - the backend's tasks changed between polls (one ended, one started): read and rendered again, as every poll was
 *     before the answer was kept.
 * On SQLite, and on PostgreSQL when a server is named (bench/postgres.ts). Prints the table, writes
 * bench/results/task-list.json and the docs section.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Env, loadConfig } from "../src/config/index.js";
import { openStorage } from "../src/db/open.js";
import type { NewTask, Storage } from "../src/db/storage.js";
import { TaskType } from "../src/domain/task.js";
import { appOnStorage } from "../test/http/support.js";
import { writeDocsSection } from "./docs-section.js";
import { benchDialects, createBenchDatabase, DIALECT_NAMES, type Dialect } from "./postgres.js";
import { median, p99 } from "./stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const TASKS = 1000;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const ENV: Env = { BACKENDS: "test,other", TEST_JOB_SERVER_TOKEN: "agent", OTHER_JOB_SERVER_TOKEN: "other" };

/** A RUNJOB task with a definition of about a kilobyte, as a real job's. */
function task(n: number, backend = "test"): NewTask {
  return {
    id: `bench${String(n).padStart(11, "0")}-001`,
    backend,
    type: TaskType.RunJob,
    jobId: null,
    definition: {
      id: `bench${String(n).padStart(11, "0")}`,
      action: `action_${n}`,
      args: ["analysis/run.py", "--output", `output/file_${n}.csv`],
      env: { OPENSAFELY_BACKEND: "test" },
      inputs: Array.from({ length: 12 }, (_, i) => `output/input_${i}.csv`),
      output_spec: { moderately_sensitive: { table: `output/file_${n}.csv` } },
      padding: "x".repeat(600),
    },
    attributes: { user: "bench", project: "bench", orgs: "bench" },
    createdAt: 1_700_000_000 + n,
  };
}

function get(port: number, agent: Agent): Promise<number> {
  return new Promise((done, fail) => {
    const start = performance.now();
    const req = request(
      { port, host: "127.0.0.1", path: "/test/tasks/", headers: { authorization: "agent" }, agent },
      (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => (bytes += chunk.length));
        res.on("end", () => (res.statusCode === 200 && bytes > 0 ? done(performance.now() - start) : fail()));
      },
    );
    req.on("error", fail);
    req.end();
  });
}

interface Row {
  dialect: Dialect;
  case: string;
  p50: number;
  p99: number;
  selectP50: number;
}

async function measure(dialect: Dialect, dir: string): Promise<Row[]> {
  const database = await createBenchDatabase(dialect, dir, "tasks");
  const storage: Storage = await openStorage(database.location, { migrate: true, statusWorkers: 0 });
  const config = loadConfig(ENV);
  const { app } = await appOnStorage(storage, config);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const rows: Row[] = [];
  try {
    for (let n = 0; n < TASKS; n++) await storage.tasks.insert(task(n));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as { port: number };
    let next = TASKS;
    const between: Record<string, () => Promise<void>> = {
      "nothing changed": async () => undefined,
      "the database changed, not this backend's tasks": async () => {
        await storage.tasks.insert(task(next, "other"));
        await storage.tasks.deactivate(task(next).id, 1);
        next += 1;
      },
      "the backend's tasks changed (one ended, one started)": async () => {
        await storage.tasks.deactivate(task(next - TASKS).id, 1);
        await storage.tasks.insert(task(next));
        next += 1;
      },
    };
    for (const [name, change] of Object.entries(between)) {
      const polls: number[] = [];
      const selects: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        await change();
        const start = performance.now();
        await storage.tasks.activeText("test");
        selects.push(performance.now() - start);
        polls.push(await get(port, agent));
      }
      rows.push({ dialect, case: name, p50: median(polls), p99: p99(polls), selectP50: median(selects) });
    }
  } finally {
    agent.destroy();
    await app.close();
    await storage.close();
    await database.drop();
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), "rap-bench-task-list-"));
try {
  const rows: Row[] = [];
  for (const dialect of benchDialects()) rows.push(...(await measure(dialect, dir)));
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  const table = [
    "| database | between two polls | GET tasks p50 / p99 | plain SELECT p50 | GET ÷ SELECT |",
    "|---|---|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${DIALECT_NAMES[r.dialect]} | ${r.case} | ${ms(r.p50)} / ${ms(r.p99)} | ${ms(r.selectP50)} | ${(r.p50 / r.selectP50).toFixed(2)} |`,
    ),
  ].join("\n");
  console.log(table);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "task-list.json"), JSON.stringify(rows, null, 2));
  writeDocsSection(
    "bench:task-list",
    "GET /{backend}/tasks/, 1,000 tasks (issue 18)",
    `Measured ${new Date().toISOString().slice(0, 10)} (${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}): ` +
      `${TASKS} active tasks of about 1.1 kB each, one client on a kept-alive loopback connection, ${REQUESTS} ` +
      "polls per case, each after the change named and beside a plain SELECT of the same rows in the same " +
      `process (the server's own read, \`TaskStore.activeText\`).\n\n${table}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
