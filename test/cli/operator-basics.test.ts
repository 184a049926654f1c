/**
 * What a newcomer meets first with the built `rap`: `--version`, and operator commands that refuse to act on a
 * database that does not exist (run from the wrong directory they used to create a second, empty one).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli } from "../support/cli.js";
import { createTestPostgres, postgresRequirement } from "../support/postgres.js";
import { repoRoot, requires } from "../support/requirements.js";

const postgresAvailable = requires(postgresRequirement());

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

test.skipIf(!postgresAvailable)(
  "on PostgreSQL: rap migrate creates the schema, operator commands and rap tick work, snapshot-db says pg_dump",
  async () => {
    const database = await createTestPostgres();
    try {
      const env = { DATABASE_URL: database.url };
      const where = database.url;
      expect(await runCli(["migrate"], env, undefined, dir)).toMatchObject({
        code: 0,
        stdout: `created new db at ${where}\n`,
      });
      expect(await runCli(["migrate"], env, undefined, dir)).toMatchObject({
        code: 0,
        stdout: `db ${where} is up to date\n`,
      });
      const pause = await runCli(["pause", "on", "test"], env, undefined, dir);
      expect(pause).toMatchObject({ code: 0 });
      expect(pause.stdout).toMatch(/^\[test\] paused=true \(/);
      expect(await runCli(["tick"], env, undefined, dir)).toMatchObject({ code: 0 });
      const copy = join(dir, "copy.sqlite");
      expect(await runCli(["snapshot-db", copy], env, undefined, dir)).toMatchObject({
        code: 1,
        stdout: "",
        stderr:
          "rap snapshot-db copies an SQLite database; this one is PostgreSQL: take a consistent copy with pg_dump " +
          `(pg_dump --format=custom --file=${copy} "$DATABASE_URL")\n`,
      });
      expect(existsSync(join(dir, "workdir"))).toBe(false);
    } finally {
      await database.drop();
    }
  },
);

test("a PostgreSQL server that does not answer fails the command without showing the password", async () => {
  const result = await runCli(
    ["migrate"],
    { DATABASE_URL: "postgres://rap:secret-password@127.0.0.1:1/rap" },
    undefined,
    dir,
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("ECONNREFUSED");
  expect(result.stderr).not.toContain("secret-password");
  expect(existsSync(join(dir, "workdir"))).toBe(false);
});
