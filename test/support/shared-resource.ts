/**
 * Something on this machine that test files share but must not use at once: the Slurm cluster, whose one node a
 * test drains and another fills with 50 jobs. Test files run in parallel (vitest.config.ts); a file using such a
 * resource holds it, with top-level await, until its last test has run, while the others wait their turn.
 *
 * The lock is a directory made atomically in the temp directory, with its holder's pid inside, so that a lock left
 * by a killed run is taken over rather than waited on forever.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const POLL_MS = 250;
/** A lock directory without a holder's pid this old was left between its mkdir and its write. */
const UNCLAIMED_MS = 60_000;

function holderIsGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, "pid"), "utf8"));
  } catch {
    try {
      return Date.now() - statSync(lock).mtimeMs > UNCLAIMED_MS;
    } catch {
      return true;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function tryTake(lock: string): boolean {
  try {
    mkdirSync(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    if (holderIsGone(lock)) rmSync(lock, { recursive: true, force: true });
    return false;
  }
  writeFileSync(join(lock, "pid"), String(process.pid));
  return true;
}

/** Waits until no other test process holds `name`, then holds it until this file's tests are done. */
export async function holdSharedResource(name: string): Promise<void> {
  const lock = join(tmpdir(), `rap-test-resource-${name}.lock`);
  while (!tryTake(lock)) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  const release = () => rmSync(lock, { recursive: true, force: true });
  process.once("exit", release);
  afterAll(release);
}
