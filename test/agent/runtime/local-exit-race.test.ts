/**
 * The local runtime when a job's process ends while something it started still runs (and holds its output open):
 * as in a container, the job ends with its own process, and it never reads as ended without an exit code, which
 * the agent would finalize as if it had exited 0.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalRuntime } from "../../../src/agent/runtime/local.js";
import { jobFixtures, jobSpec, waitForExit } from "./conformance.js";

const stateDir = mkdtempSync(join(tmpdir(), "rap-local-exit-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
const create = () => new LocalRuntime({ stateDir });

describe("LocalRuntime, a job that leaves a process behind", () => {
  const fixtures = jobFixtures(create);

  it("ends with the job's own process, with its exit code, and its leftover process is killed", async () => {
    const rt = create();
    const job = jobSpec("ghcr.io/opensafely-core/python:v2", fixtures, {
      // The leftover inherits stdout and would hold it open for a minute.
      code: "import os, subprocess\np = subprocess.Popen(['sleep', '60'])\nopen('leftover', 'w').write(str(p.pid))\nos._exit(3)",
    });
    await rt.start(job);
    // Every reading until the end is recorded says running; the first that does not has the job's exit code.
    const ended = await waitForExit(rt, job.name, 15_000);
    expect(ended).toMatchObject({ running: false, exitCode: 3 });
    const leftover = Number(readFileSync(join(job.volumeDir, "leftover"), "utf8"));
    // Killed: gone, or a zombie waiting for whoever inherited it to reap it.
    const stat = existsSync(`/proc/${leftover}/stat`) ? readFileSync(`/proc/${leftover}/stat`, "utf8") : null;
    expect(stat === null || stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")).toBe(true);
  });
});
