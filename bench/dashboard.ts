/**
 * What the operator dashboard costs on the wire: the bytes of a page load (its files and first answers, after the
 * login) and of one minute of its live updates, measured by a loopback TCP proxy between Debian's headless chromium
 * (playwright-core) and a real `rap serve` (local executor), counting every byte both ways (headers included):
 * - idle: a finished RAP and one of its jobs shown, nothing changing (the polls answered 304);
 * - busy: a RAP whose job prints a line a second, the job's live log open.
 * Prints a table, writes bench/results/dashboard.json and the docs section.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../test/support/chromium.js";
import { freePort } from "../test/support/ports.js";
import { writeDocsSection } from "./docs-section.js";

const root = resolve(import.meta.dirname, "..");
const MINUTE_MS = 60_000;

const PROJECT = `version: "5"
actions:
  quick:
    run: python:v2 analysis/run.py 0
    outputs:
      moderately_sensitive:
        out: output/quick.txt
  ticker:
    run: python:v2 analysis/run.py 80
    outputs:
      moderately_sensitive:
        out: output/ticker.txt
`;
const SCRIPT = `import os, sys, time
seconds = int(sys.argv[1])
for i in range(seconds):
    print(f"tick {i}: some output of the kind an analysis prints while it runs", flush=True)
    time.sleep(1)
os.makedirs("output", exist_ok=True)
open("output/" + ("ticker" if seconds else "quick") + ".txt", "w").write("done\\n")
`;

function studyRepo(dir: string): { path: string; commit: string } {
  const work = join(dir, "work");
  const bare = join(dir, "study.git");
  mkdirSync(join(work, "analysis"), { recursive: true });
  writeFileSync(join(work, "project.yaml"), PROJECT);
  writeFileSync(join(work, "analysis", "run.py"), SCRIPT);
  const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@invalid", ...args], {
      cwd,
    }).toString();
  git(work, "init", "-q", "-b", "main");
  git(work, "add", ".");
  git(work, "commit", "-q", "-m", "study");
  execFileSync("git", ["clone", "-q", "--bare", work, bare]);
  return { path: bare, commit: git(work, "rev-parse", "HEAD").trim() };
}

/** A TCP proxy to `port` counting the bytes each way. */
function countingProxy(port: number): Promise<{ server: Server; port: number; bytes: () => number }> {
  let total = 0;
  const server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    client.on("data", (chunk) => (total += chunk.length));
    upstream.on("data", (chunk) => (total += chunk.length));
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  return new Promise((resolveProxy) =>
    server.listen(0, "127.0.0.1", () =>
      resolveProxy({ server, port: (server.address() as { port: number }).port, bytes: () => total }),
    ),
  );
}

async function waitForOutput(child: ChildProcess, text: string, output: () => string): Promise<void> {
  for (let i = 0; i < 1200 && !output().includes(text); i++) {
    if (child.exitCode !== null) throw new Error(`rap serve ended:\n${output()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-dashboard-"));
  const repo = studyRepo(dir);
  const port = await freePort();
  let output = "";
  const serve = spawn(process.execPath, [join(root, "dist", "cli", "main.js"), "serve"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      EXECUTOR: "local",
      TEST_CLIENT_TOKENS: "client",
      JOB_LOOP_INTERVAL: "0.5",
      LOGLEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  serve.stdout?.on("data", (chunk) => (output += chunk));
  serve.stderr?.on("data", (chunk) => (output += chunk));
  let context: BrowserContext | undefined;
  const profile = mkdtempSync(join(tmpdir(), "rap-bench-chromium-"));
  try {
    await waitForOutput(serve, "operator token (kept in", () => output);
    const token = /operator token \(kept in .+\): ([0-9a-f]{40})/.exec(output)![1]!;
    const api = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${port}/controller/v1/${path}`, {
        method: "POST",
        headers: { authorization: "client" },
        body: JSON.stringify(body),
      }).then((answer) => answer.json() as Promise<{ jobs: Array<{ identifier: string; status: string }> }>);
    const create = (rapId: string, action: string) =>
      api("rap/create/", {
        backend: "test",
        rap_id: rapId,
        workspace: `ws-${action}`,
        repo_url: repo.path,
        branch: "main",
        commit: repo.commit,
        database_name: "default",
        requested_actions: [action],
        codelists_ok: true,
        force_run_dependencies: false,
        created_by: "bench",
        project: "bench",
        orgs: [],
      });
    const jobOf = async (rapId: string, status: string) => {
      for (;;) {
        const [job] = (await api("rap/status/", { rap_ids: [rapId] })).jobs;
        if (job?.status === status) return job.identifier;
        await sleep(200);
      }
    };
    await create("benchquick000001", "quick");
    const quickJob = await jobOf("benchquick000001", "succeeded");

    const proxy = await countingProxy(port);
    const base = `http://127.0.0.1:${proxy.port}`;
    context = await launchChromium(profile);
    const page: Page = context.pages()[0] ?? (await context.newPage());

    // A page load: the files, the login, the first answers with a finished RAP and its job shown.
    await page.goto(`${base}/dashboard/#rap=benchquick000001&job=${quickJob}`);
    await page.fill("#token", token);
    await page.click("#login-form button");
    await page.waitForSelector("svg.graph g.node");
    await page.locator("#log", { hasText: "# finished" }).waitFor();
    const loadBytes = proxy.bytes();

    // A minute with nothing changing.
    let start = proxy.bytes();
    await sleep(MINUTE_MS);
    const idleBytes = proxy.bytes() - start;

    // A minute with a job printing a line a second, its live log open.
    await create("benchticker00001", "ticker");
    const tickerJob = await jobOf("benchticker00001", "running");
    await page.goto(`${base}/dashboard/#rap=benchticker00001&job=${tickerJob}`);
    await page.reload();
    await page.locator("#log", { hasText: "tick 2:" }).waitFor();
    start = proxy.bytes();
    await sleep(MINUTE_MS);
    const busyBytes = proxy.bytes() - start;
    const lines = ((await page.locator("#log").textContent()) ?? "").split("tick ").length - 1;
    proxy.server.close();

    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    const rows = [
      ["page load (files, login, first answers)", kb(loadBytes)],
      ["one minute live, nothing changing (polls every 2 s, answered 304)", kb(idleBytes)],
      [`one minute live, a job printing a line a second, its log open (${lines} lines shown)`, kb(busyBytes)],
    ];
    const table = ["| what | bytes on the wire (both ways, headers included) |", "|---|---|"]
      .concat(rows.map(([what, bytes]) => `| ${what} | ${bytes} |`))
      .join("\n");
    console.log(table);
    mkdirSync(join(root, "bench", "results"), { recursive: true });
    writeFileSync(
      join(root, "bench", "results", "dashboard.json"),
      JSON.stringify({ loadBytes, idleBytes, busyBytes, lines }, null, 2),
    );
    writeDocsSection(
      "bench:dashboard",
      "Operator dashboard (issue 17)",
      `Measured ${new Date().toISOString().slice(0, 10)} by a loopback proxy between headless chromium and \`rap serve\`:\n\n${table}`,
    );
  } finally {
    await context?.close();
    serve.kill("SIGTERM");
    rmSync(profile, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
