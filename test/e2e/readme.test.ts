/**
 * The README as a newcomer follows it. Its first command (install, then the demo) runs exactly as written in a
 * fresh copy of the repository: `npm ci` from the lock file (through the npm registry, as a newcomer's would; no
 * warning that a dependency needs another Node.js), then `npm run demo`, which builds and runs the example study to
 * success with the local executor; Ctrl-C (SIGINT to the process group, as a terminal sends it) stops it. The
 * "study of your own" walkthrough runs twice against `rap serve`, from inside another git repository, which it must
 * leave alone. And the README never sends anyone to `npx rap`.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, test } from "vitest";
import { createTempDir, git, removeDir } from "../support/git-fixtures.js";
import { freePort } from "../support/ports.js";
import { readmeInstallRequirement, repoRoot, requires } from "../support/requirements.js";
import { finalJobs, start, startRap } from "./serve-support.js";

const run = promisify(execFile);
/** `npm ci` compiles better-sqlite3 from source: minutes on a busy machine. No assertion is about time. */
const INSTALL_TIMEOUT_MS = 20 * 60_000;
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

const readme = await readFile(join(repoRoot, "README.md"), "utf8");
const installAsked = requires(readmeInstallRequirement());

/** The ```sh blocks of a README section (from its `## title` to the next `## `), in order. */
function shellBlocks(text: string): string[] {
  return [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!.trimEnd());
}

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, title).toBeGreaterThan(0);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

test("the first command installs and runs the demo; the second installs and runs every test", () => {
  const blocks = shellBlocks(readme);
  expect(blocks[0]).toBe("npm ci && npm run demo");
  expect(blocks[1]).toBe("npm ci && npm test");
  expect(readme).toContain("Press **Ctrl-C** to stop it");
  expect(readme).toContain("`npm run demo -- --exit` stops once the jobs are done");
});

test("the README never runs `npx rap` (outside this folder it fetches an unrelated package) and says so", () => {
  const commands = shellBlocks(readme).join("\n");
  expect(commands).not.toMatch(/\bnpx\b/);
  expect(readme.replaceAll("Do not\nuse `npx rap`", "")).not.toMatch(/`npx rap/);
  expect(readme).toContain("Do not\nuse `npx rap` outside this folder");
});

test.skipIf(!installAsked)(
  "on a fresh copy of the repository, the README's first command runs the demo to success",
  {
    timeout: INSTALL_TIMEOUT_MS + 5 * 60_000,
  },
  async () => {
    const clone = await createTempDir("rap-readme-clone-");
    dirs.push(clone);
    // What a clone of this tree has: every tracked or new file that git does not ignore (no node_modules, dist).
    const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const file of stdout.split("\0").filter((name) => name !== "")) {
      await mkdir(dirname(join(clone, file)), { recursive: true });
      await cp(join(repoRoot, file), join(clone, file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error; // deleted in the working tree but not yet committed
      });
    }
    const port = await freePort();
    const demo = start([shellBlocks(readme)[0]!], {
      cwd: clone,
      // The local executor, as on a laptop without Docker; a free port instead of 8000.
      env: { PORT: String(port), EXECUTOR: "local" },
      shell: true,
    });
    try {
      await demo.waitFor("Still serving the RAP API", INSTALL_TIMEOUT_MS);
      const output = demo.output();
      expect(output).not.toContain("EBADENGINE");
      expect(output).toContain("All 3 jobs succeeded.");
      expect(output).toContain(
        `Manifest of the workspace:               ${clone}/workdir/medium_privacy/workspaces/demo/metadata/manifest.json`,
      );
      // Still serving: the documentation page it printed answers.
      expect((await fetch(`http://127.0.0.1:${port}/controller/v1/docs/`)).status).toBe(200);
    } finally {
      demo.signal("SIGINT");
    }
    await demo.exited;
    // The demo's own log goes to WORKDIR/rap.log, leaving the terminal to the progress.
    // npm may return before the demo has finished shutting down: give its log a few seconds.
    const log = join(clone, "workdir", "rap.log");
    for (let i = 0; i < 100 && !(await readFile(log, "utf8")).includes('"msg":"agent stopped"'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await readFile(log, "utf8")).toContain("SIGINT received: shutting down");
    expect(await readFile(log, "utf8")).toContain('"msg":"agent stopped"');
  },
);

test("the walkthrough can be run twice from inside another repository: two RAPs succeed, that repository is untouched", {
  timeout: 180_000,
}, async () => {
  // The folder the user stands in: a git repository of their own (rap serve runs here too, as `npm run serve`
  // runs in the rap-runner folder, so workdir/client-token is where the walkthrough reads it).
  const here = await createTempDir("rap-readme-here-");
  dirs.push(here);
  await git(here, ["init", "-q", "-b", "main"]);
  await git(here, [
    "-c",
    "user.name=u",
    "-c",
    "user.email=u@example.invalid",
    "commit",
    "-q",
    "--allow-empty",
    "-m",
    "mine",
  ]);
  const studiesBefore = new Set(await readdir("/tmp"));
  const port = await freePort();
  const server = startRap(["serve"], { cwd: here, env: { PORT: String(port), EXECUTOR: "local" } });
  try {
    await server.waitFor("agent started");
    const walkthrough = shellBlocks(section("Run a study of your own"));
    expect(walkthrough[0]).toBe("npm run serve");
    // The submitting block, then the status block, on our port instead of 8000.
    const script = walkthrough.slice(1).join("\n").replaceAll("127.0.0.1:8000", `127.0.0.1:${port}`);
    const rapIds: string[] = [];
    for (let round = 0; round < 2; round++) {
      const shell = start([script], { cwd: here, env: {}, shell: true });
      expect(await shell.exited, shell.output()).toBe(0);
      expect(shell.output()).toContain('"result":"Success"');
      rapIds.push(/"rap_id":"([a-z0-9]{16})"/.exec(shell.output())![1]!);
    }
    expect(new Set(rapIds).size).toBe(2);
    const token = (await readFile(join(here, "workdir", "client-token"), "utf8")).trim();
    for (const rapId of rapIds) {
      expect(await finalJobs(port, token, rapId)).toMatchObject([
        { action: "count_rows", status: "succeeded" },
      ]);
    }
    // The user's repository: still one commit, and nothing of the study in it.
    expect((await git(here, ["rev-list", "--count", "HEAD"])).trim()).toBe("1");
    expect((await git(here, ["status", "--porcelain"])).trim()).toBe("?? workdir/");
  } finally {
    server.signal("SIGTERM");
    await server.exited;
    // The walkthrough's study folders (mktemp -d /tmp/study.XXXXXX).
    for (const name of await readdir("/tmp")) {
      if (name.startsWith("study.") && !studiesBefore.has(name)) await removeDir(join("/tmp", name));
    }
  }
});
