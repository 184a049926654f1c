/**
 * Which containers a runtime has started, on disk so it survives an agent restart: one empty file per container
 * name, written once `start` has run it and removed by the runtime's own `remove`. A container that is gone while
 * its record stays was removed by someone else; the executor then fails the job instead of running it again
 * (types.ts, `wasStarted`).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathExists } from "../workspace/files.js";
import { RuntimeError } from "./types.js";

export class StartRecords {
  constructor(private readonly dir: string) {}

  async record(name: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.path(name), "");
  }

  async has(name: string): Promise<boolean> {
    return pathExists(this.path(name));
  }

  async forget(name: string): Promise<void> {
    await rm(this.path(name), { force: true });
  }

  private path(name: string): string {
    // Names become file names: one safe path segment only.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new RuntimeError(`invalid container name ${name}`);
    return join(this.dir, name);
  }
}
