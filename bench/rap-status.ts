/**
 * `npm run bench:rap-status`: `POST rap/status/` for 5 RAPs × 2,191 jobs (the corpus's largest project; 6.5 MB), one
 * client asking again and again on a kept-alive loopback connection, as job-server polls the RAPs it waits for.
 * Between two requests:
 *   - nothing written (RAPs that did not move);
 *   - 20 running jobs' agents reported metrics (their tasks written) and 20 other jobs' rows written, as a busy
 *     backend's scheduler and agent do between two polls;
 *   - every job's row written, so every job is rendered again (what a first request after a start costs).
 * Beside each, in the same process and round: the same bytes sent from memory by a bare node:http server (the floor
 * the issue names) and a plain SELECT of the jobs' rows. On SQLite, and on PostgreSQL when a server is named
 * (bench/postgres.ts). Prints the table, writes bench/results/rap-status.json and the docs section.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sql } from "kysely";
import { type Env, loadConfig } from "../src/config/index.js";
import { openStorage } from "../src/db/open.js";
import { recordAgentUpdate } from "../src/db/queries/tasks.js";
import { runJobTaskId } from "../src/domain/task.js";
import { appOnStorage } from "../test/http/support.js";
import { writeDocsSection } from "./docs-section.js";
import { benchDialects, createBenchDatabase, DIALECT_NAMES, type Dialect, openMigrated } from "./postgres.js";
import { median, p99 } from "./stats.js";
import {
  benchJob,
  benchResults,
  CORPUS_SIZED_JOBS,
  CORPUS_SIZED_PREFIX,
  CORPUS_SIZED_RAPS,
  rapIds,
  seedStatus,
} from "./status-seed.js";

const ROOT = resolve(import.meta.dirname, "..");
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30);
const WRITTEN_BETWEEN = 20;
const TOKEN = "bench-token";
const ENV: Env = { BACKENDS: "tpp", TPP_CLIENT_TOKENS: TOKEN, TPP_JOB_SERVER_TOKEN: "bench-agent" };
const RAPS = rapIds(CORPUS_SIZED_RAPS, CORPUS_SIZED_PREFIX);
const BODY = JSON.stringify({ rap_ids: RAPS });

/** One request; resolves with its time and the body. */
function post(port: number, agent: Agent, path: string, body: string): Promise<{ ms: number; body: Buffer }> {
  return new Promise((done, fail) => {
    const start = performance.now();
    const req = request(
      { port, host: "127.0.0.1", method: "POST", path, headers: { authorization: TOKEN }, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          res.statusCode === 200
            ? done({ ms: performance.now() - start, body: Buffer.concat(chunks) })
            : fail(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

interface Row {
  dialect: Dialect;
  case: string;
  p50: number;
  p99: number;
  bareP50: number;
  selectP50: number;
  bytes: number;
}

async function measure(dialect: Dialect, dir: string): Promise<Row[]> {
  const database = await createBenchDatabase(dialect, dir, "rap-status");
  await seedStatus(database.location, 0, 0, {
    raps: CORPUS_SIZED_RAPS,
    perRap: CORPUS_SIZED_JOBS,
    prefix: CORPUS_SIZED_PREFIX,
  });
  const storage = await openStorage(database.location, {
    statusWorkers: Math.min(4, availableParallelism()),
  });
  // Writes between requests go through a connection of their own, as the scheduler's and agents' would.
  const writer = await openMigrated(database.location);
  const { app } = await appOnStorage(storage, loadConfig(ENV));
  let lastBody: Buffer = Buffer.alloc(0);
  const bare = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(lastBody);
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const rows: Row[] = [];
  try {
    await app.listen({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((done) => bare.listen(0, "127.0.0.1", done));
    const port = (app.server.address() as { port: number }).port;
    const barePort = (bare.address() as { port: number }).port;
    const running = RAPS.flatMap((rap) =>
      Array.from({ length: CORPUS_SIZED_JOBS }, (_, n) => benchJob(rap, n)).filter(
        (job) => job.state === "running",
      ),
    );
    let round = 0;
    const between: Record<string, () => Promise<void>> = {
      "nothing written": async () => undefined,
      [`${WRITTEN_BETWEEN} tasks' metrics and ${WRITTEN_BETWEEN} jobs' rows written`]: async () => {
        // Two sets of running jobs, others each time: one set's agents report, the other's rows are written.
        const at = (round++ * 2 * WRITTEN_BETWEEN) % (running.length - 2 * WRITTEN_BETWEEN);
        for (const job of running.slice(at, at + WRITTEN_BETWEEN)) {
          const update = {
            stage: "executing",
            results: benchResults(job, round),
            complete: false,
            timestampNs: null,
          };
          await recordAgentUpdate(
            writer,
            job.backend,
            runJobTaskId(job.id, 1),
            update,
            job.updatedAt + round,
          );
        }
        const moved = running.slice(at + WRITTEN_BETWEEN, at + 2 * WRITTEN_BETWEEN).map((job) => job.id);
        await sql`update job set updated_at = updated_at + 1 where id in (${sql.join(moved)})`.execute(
          writer,
        );
      },
      "every job's row written": async () => {
        await sql`update job set updated_at = updated_at + 1 where rap_id in (${sql.join(RAPS)})`.execute(
          writer,
        );
      },
    };
    await post(port, agent, "/controller/v1/rap/status/", BODY);
    for (const [name, change] of Object.entries(between)) {
      const times: number[] = [];
      const bareTimes: number[] = [];
      const selects: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        await change();
        const answer = await post(port, agent, "/controller/v1/rap/status/", BODY);
        times.push(answer.ms);
        lastBody = answer.body;
        bareTimes.push((await post(barePort, agent, "/", "")).ms);
        const start = performance.now();
        await sql`select * from job where rap_id in (${sql.join(RAPS)})`.execute(writer);
        selects.push(performance.now() - start);
      }
      rows.push({
        dialect,
        case: name,
        p50: median(times),
        p99: p99(times),
        bareP50: median(bareTimes),
        selectP50: median(selects),
        bytes: lastBody.length,
      });
    }
  } finally {
    agent.destroy();
    await app.close();
    await new Promise((done) => bare.close(done));
    await storage.close();
    await writer.destroy();
    await database.drop();
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), "rap-bench-rap-status-"));
try {
  const loadAtStart = loadavg()[0]!;
  const rows: Row[] = [];
  for (const dialect of benchDialects()) rows.push(...(await measure(dialect, dir)));
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const table = [
    "| database | between two requests | rap/status p50 / p99 | same bytes from memory (bare node:http) p50 | ÷ bare | plain SELECT of the rows p50 |",
    "|---|---|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${DIALECT_NAMES[r.dialect]} | ${r.case} | ${ms(r.p50)} / ${ms(r.p99)} | ${ms(r.bareP50)} | ${(r.p50 / r.bareP50).toFixed(1)} | ${ms(r.selectP50)} |`,
    ),
  ].join("\n");
  console.log(table);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "rap-status.json"), JSON.stringify(rows, null, 2));
  writeDocsSection(
    "bench:rap-status",
    "rap/status of a few large RAPs (issue 18)",
    `Measured ${new Date().toISOString().slice(0, 10)} (${cpus().length} cores, load ${loadAtStart.toFixed(1)} → ` +
      `${loadavg()[0]!.toFixed(1)}): ${CORPUS_SIZED_RAPS} RAPs × ${CORPUS_SIZED_JOBS.toLocaleString("en")} jobs ` +
      `(${(rows[0]!.bytes / 1e6).toFixed(1)} MB), one client on a kept-alive loopback connection, ${REQUESTS} ` +
      "requests per case, each after the writes named (through another connection) and beside the same bytes " +
      "from a bare node:http server and a plain SELECT of the jobs' rows, in the same process.\n\n" +
      table,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
