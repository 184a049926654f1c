/**
 * A real small filesystem for full-disk tests: a tmpfs of a given size mounted on a fresh temp dir. Mounting needs
 * root; the tests skip (or fail under RAP_REQUIRE_ALL_TESTS=1) without it.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Requirement } from "./requirements.js";

const run = promisify(execFile);

export function smallDiskRequirement(): Requirement {
  return {
    available: process.getuid?.() === 0,
    reason: "mounting a small tmpfs needs root (run the tests as root to check full-disk handling)",
  };
}

export interface SmallDisk {
  readonly path: string;
  /** Unmounts it and removes the mount point. */
  remove(): Promise<void>;
}

export async function mountSmallDisk(sizeBytes: number): Promise<SmallDisk> {
  const path = await mkdtemp(join(tmpdir(), "rap-small-disk-"));
  await run("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", path]);
  return {
    path,
    async remove() {
      await run("umount", [path]);
      await rm(path, { recursive: true, force: true });
    },
  };
}
