import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import { runCli } from "../support/cli.js";
import { testDatabaseEnv } from "../support/db.js";

let workdir: string;
let env: Record<string, string>;
let dropDatabase: () => Promise<void>;
const TIMESTAMP = String.raw`\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z\)`;

/** The run's database for `rap` (WORKDIR/db.sqlite, or a PostgreSQL DATABASE_URL), and where `rap` says it is. */
async function database(dir: string) {
  const { env: databaseEnv, drop } = await testDatabaseEnv();
  return {
    env: { ...databaseEnv, WORKDIR: dir },
    where: databaseEnv.DATABASE_URL ?? `${dir}/db.sqlite`,
    drop,
  };
}

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), "rap-cli-"));
  const made = await database(workdir);
  env = { ...made.env, BACKENDS: "test,tpp" };
  dropDatabase = made.drop;
  await runCli(["migrate"], env);
});
afterAll(async () => {
  await dropDatabase();
  rmSync(workdir, { recursive: true, force: true });
});

async function flagsInDb(backend: string) {
  const storage = await openStorage(loadConfig(env).database);
  try {
    return Object.fromEntries((await storage.flags.list(backend)).map((f) => [f.id, f.value]));
  } finally {
    await storage.close();
  }
}

describe("rap migrate", () => {
  test("creates the database, then reports it up to date", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rap-cli-migrate-"));
    const { env: fresh, where, drop } = await database(dir);
    try {
      const first = await runCli(["migrate"], fresh);
      expect(first).toMatchObject({ code: 0, stdout: `created new db at ${where}\n` });
      const second = await runCli(["migrate"], fresh);
      expect(second).toMatchObject({ code: 0, stdout: `db ${where} is up to date\n` });
    } finally {
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("rap pause", () => {
  test("on sets paused=true and prints the flag line; off clears it", async () => {
    const on = await runCli(["pause", "on", "test"], env);
    expect(on.code).toBe(0);
    expect(on.stdout).toMatch(new RegExp(`^\\[test\\] paused=true ${TIMESTAMP}\\n$`));
    expect((await flagsInDb("test")).paused).toBe("true");

    const off = await runCli(["pause", "off", "test"], env);
    expect(off.stdout).toMatch(new RegExp(`^\\[test\\] paused=None ${TIMESTAMP}\\n$`));
    expect(await flagsInDb("test")).toHaveProperty("paused", null);
  });

  test("an unknown backend or state is refused with a clear message", async () => {
    const badBackend = await runCli(["pause", "on", "nope"], env);
    expect(badBackend).toMatchObject({ code: 1, stderr: "Unknown backend 'nope', allowed are: test, tpp\n" });
    const badState = await runCli(["pause", "maybe", "test"], env);
    expect(badState.code).not.toBe(0);
    expect(badState.stderr).toContain("Allowed choices are on, off.");
  });
});

describe("rap db-maintenance", () => {
  test("on --disable-checks sets the three flags; off clears them", async () => {
    const on = await runCli(["db-maintenance", "on", "tpp", "--disable-checks"], env);
    expect(on.code).toBe(0);
    expect(
      on.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.replace(/ \(.*\)$/, "")),
    ).toEqual([
      "[tpp] mode=db-maintenance",
      "[tpp] manual-db-maintenance=on",
      "[tpp] db-maintenance-checks-disabled=true",
    ]);
    const off = await runCli(["db-maintenance", "off", "tpp"], env);
    expect(
      off.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.replace(/ \(.*\)$/, "")),
    ).toEqual([
      "[tpp] mode=None",
      "[tpp] manual-db-maintenance=None",
      "[tpp] db-maintenance-checks-disabled=None",
    ]);
    expect(await flagsInDb("tpp")).toEqual({
      mode: null,
      "manual-db-maintenance": null,
      "db-maintenance-checks-disabled": null,
    });
  });

  test("on without --disable-checks leaves the checks enabled", async () => {
    await runCli(["db-maintenance", "on", "test"], env);
    expect(await flagsInDb("test")).toMatchObject({
      mode: "db-maintenance",
      "manual-db-maintenance": "on",
      "db-maintenance-checks-disabled": null,
    });
    await runCli(["db-maintenance", "off", "test"], env);
  });
});

describe("rap flags", () => {
  test("set then get; NAME= clears; unknown names print as never set", async () => {
    const set = await runCli(["flags", "set", "foo=bar", "baz=", "--backend", "tpp"], env);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(
      new RegExp(`^\\[tpp\\] foo=bar ${TIMESTAMP}\\n\\[tpp\\] baz=None ${TIMESTAMP}\\n$`),
    );

    const get = await runCli(["flags", "get", "foo", "unknown", "--backend", "TPP"], env);
    expect(get.stdout).toMatch(
      new RegExp(`^\\[tpp\\] foo=bar ${TIMESTAMP}\\n\\[tpp\\] unknown=None \\(never set\\)\\n$`),
    );

    const all = await runCli(["flags", "get", "--backend", "tpp"], env);
    expect(all.stdout).toContain("[tpp] foo=bar");
    expect(all.stdout).toContain("[tpp] baz=None");
  });

  test("an assignment without = is an error and changes nothing", async () => {
    const result = await runCli(["flags", "set", "ok=1", "broken", "--backend", "test"], env);
    expect(result).toMatchObject({ code: 1, stderr: "flags must be given as NAME=VALUE, got 'broken'\n" });
    expect(await flagsInDb("test")).not.toHaveProperty("ok");
  });

  test("a bad configuration value fails naming the variable", async () => {
    const result = await runCli(["flags", "get", "--backend", "test"], { ...env, TEST_MAX_WORKERS: "lots" });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "Invalid configuration: TEST_MAX_WORKERS must be a whole number of 0 or more, got 'lots'\n",
    );
  });
});
