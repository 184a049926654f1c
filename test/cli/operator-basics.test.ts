/**
 * What a newcomer meets first with the built `rap`: `--version`, and operator commands that refuse to act on a
 * database that does not exist (run from the wrong directory they used to create a second, empty one).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli } from "../support/cli.js";
import { repoRoot } from "../support/requirements.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rap-cli-basics-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("rap --version prints package.json's version", async () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  expect(await runCli(["--version"], {})).toMatchObject({ code: 0, stdout: `${version}\n` });
});

test("run where there is no ./workdir, an operator command refuses, naming WORKDIR, and creates nothing", async () => {
  const elsewhere = join(dir, "elsewhere");
  mkdirSync(elsewhere);
  for (const args of [
    ["pause", "on", "test"],
    ["flags", "get", "--backend", "test"],
    ["tick"],
    ["jobs"],
    ["logs", "x"],
    ["cancel", "x"],
  ]) {
    const result = await runCli(args, {}, undefined, elsewhere);
    expect(result.code, args.join(" ")).toBe(1);
    expect(result.stderr).toBe(
      `No database at ${join(elsewhere, "workdir", "db.sqlite")}. Operator commands act on the server's database: ` +
        "set WORKDIR (or DATABASE_URL) as the server has it, or run the command from the directory that holds the " +
        "server's ./workdir. `rap migrate` creates a new database.\n",
    );
  }
  expect(existsSync(join(elsewhere, "workdir"))).toBe(false);
  expect((await runCli(["snapshot-db", "copy.sqlite"], {}, undefined, elsewhere)).stderr).toContain(
    `No database at ${join(elsewhere, "workdir", "db.sqlite")}.`,
  );

  // A WORKDIR naming a directory without a database is refused the same way.
  const typo = await runCli(["pause", "on", "test"], { WORKDIR: join(dir, "typo") });
  expect(typo).toMatchObject({ code: 1 });
  expect(typo.stderr).toContain(`No database at ${join(dir, "typo", "db.sqlite")}.`);
  expect(existsSync(join(dir, "typo"))).toBe(false);
});

test("rap migrate creates the database; from then on the same directory's commands find it", async () => {
  const home = join(dir, "home");
  mkdirSync(home);
  expect(await runCli(["migrate"], {}, undefined, home)).toMatchObject({
    code: 0,
    stdout: `created new db at ${join(home, "workdir", "db.sqlite")}\n`,
  });
  const pause = await runCli(["pause", "on", "test"], {}, undefined, home);
  expect(pause.code).toBe(0);
  expect(pause.stdout).toMatch(/^\[test\] paused=true \(/);
});

test("a PostgreSQL DATABASE_URL is refused at start-up by every command that opens the database, password unshown", async () => {
  const env = { DATABASE_URL: "postgres://rap:secret-password@127.0.0.1:1/rap" };
  const refusal =
    "DATABASE_URL names a PostgreSQL database, which this version does not support yet: set " +
    "DATABASE_URL=sqlite:PATH, or leave it unset for WORKDIR/db.sqlite\n";
  for (const args of [
    ["migrate"],
    ["pause", "on", "test"],
    ["tick"],
    ["snapshot-db", join(dir, "copy.sqlite")],
  ]) {
    const result = await runCli(args, env, undefined, dir);
    expect(result, args.join(" ")).toMatchObject({ code: 1, stdout: "", stderr: refusal });
  }
  expect(existsSync(join(dir, "workdir"))).toBe(false);
});
