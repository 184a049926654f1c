/**
 * The agent's batched file copies (src/agent/workspace/copy-sync.ts, on a file worker thread): an output is read only
 * as its volume's listing saw it, and inputs written straight into a new volume replace what a killed prepare left.
 * Real files and symlinks in a temporary directory.
 */
import { mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { SOURCE_CHANGED } from "../../src/agent/workspace/copy-sync.js";
import { copyFilesAtomic } from "../../src/agent/workspace/files.js";
import { copyInputs, listVolume } from "../../src/agent/workspace/volume.js";
import { createTempDir, removeDir } from "../support/git-fixtures.js";

describe("batched copies", () => {
  let dir: string;
  let volume: string;
  let secret: string;
  beforeEach(async () => {
    dir = await createTempDir("rap-copies-");
    volume = join(dir, "volume");
    secret = join(dir, "secret.txt");
    await mkdir(join(volume, "output"), { recursive: true });
    await writeFile(secret, "outside the volume");
    await writeFile(join(volume, "output", "a.txt"), "the job's output");
  });
  afterEach(() => removeDir(dir));

  const listedSource = async (path: string) => {
    const entry = (await listVolume(volume)).find((e) => e.path === path);
    if (!entry?.source) throw new Error(`${path} was not listed as a file`);
    return entry.source;
  };
  const copyListed = async (source: Awaited<ReturnType<typeof listedSource>>) =>
    copyFilesAtomic([
      { source: source.path, expect: source, dest: join(dir, "workspace", "output", "a.txt") },
    ]);

  test("a listed file is copied with its contents, size and hash", async () => {
    const [outcome] = await copyListed(await listedSource("output/a.txt"));
    expect(outcome).toMatchObject({
      copied: {
        size: 16,
        sha256: "c4434133612d9d1ca6c049c05cb2028b3bcee5db5c6d4a788a717e495d466408",
      },
    });
    expect(await readFile(join(dir, "workspace", "output", "a.txt"), "utf8")).toBe("the job's output");
  });

  test("a listed file swapped for a symlink out of the volume before its copy is refused, never followed", async () => {
    const source = await listedSource("output/a.txt");
    await rm(join(volume, "output", "a.txt"));
    await symlink(secret, join(volume, "output", "a.txt"));
    const [outcome] = await copyListed(source);
    expect(outcome).toMatchObject({ failed: { code: SOURCE_CHANGED } });
    await expect(readFile(join(dir, "workspace", "output", "a.txt"))).rejects.toThrow(/ENOENT/);
  });

  test("a directory on a listed file's path swapped for a symlink out of the volume: the copy is refused", async () => {
    const source = await listedSource("output/a.txt");
    await mkdir(join(dir, "elsewhere"));
    await writeFile(join(dir, "elsewhere", "a.txt"), "outside the volume");
    await rename(join(volume, "output"), join(volume, "moved"));
    await symlink(join(dir, "elsewhere"), join(volume, "output"));
    const [outcome] = await copyListed(source);
    expect(outcome).toMatchObject({ failed: { code: SOURCE_CHANGED } });
  });

  test("inputs are written over what a killed prepare left; a missing one is named", async () => {
    const workspace = join(dir, "workspace");
    await mkdir(join(workspace, "output"), { recursive: true });
    await writeFile(join(workspace, "output", "in.csv"), "a,b\n1,2\n");
    await writeFile(join(volume, "output", "in.csv"), "a,");
    expect(await copyInputs(workspace, volume, ["output/in.csv"])).toBeNull();
    expect(await readFile(join(volume, "output", "in.csv"), "utf8")).toBe("a,b\n1,2\n");
    expect(await copyInputs(workspace, volume, ["output/in.csv", "output/gone.csv"])).toBe("output/gone.csv");
  });
});
