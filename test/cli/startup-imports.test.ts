/**
 * `rap` start-up loads only what the command needs (bench:startup has the times): `--help` none of the heavy
 * packages, `migrate` and `tick` on SQLite the database's and not the server's, the agent's or PostgreSQL's. Seen
 * through a module resolve hook in the `rap` process, which names every package it loads.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { cliPath } from "../support/cli.js";

/** Prints `loaded <url>` to stderr for every module resolved (ES imports, dynamic ones, packages' entry points). */
const TRACE = `data:text/javascript,${encodeURIComponent(`
import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(
  "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('loaded ' + r.url + '\\\\n'); return r; }"
));
`)}`;

const SERVER_AND_AGENT = [
  "fastify",
  "@fastify/swagger-ui",
  "dockerode",
  "prom-client",
  "@opentelemetry/sdk-trace",
  "yaml",
];

const workdir = mkdtempSync(join(tmpdir(), "rap-startup-"));
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

/** The packages (under node_modules) a `rap` command loads. */
async function packagesLoaded(args: string[]): Promise<Set<string>> {
  const packages = [
    ...(await modulesLoaded(args)).matchAll(/^loaded \S*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm),
  ];
  return new Set(packages.map((match) => match[1]!));
}

/** Our own modules (under dist/) a `rap` command loads. */
async function buildModulesLoaded(args: string[]): Promise<Set<string>> {
  const modules = [
    ...(await modulesLoaded(args)).matchAll(
      /^loaded file:\/\/(?!\S*\/node_modules\/)\S*\/dist\/(\S+\.js)$/gm,
    ),
  ];
  return new Set(modules.map((match) => match[1]!));
}

/** The trace's lines: `loaded <url>` for every module the command resolved. */
function modulesLoaded(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", TRACE, cliPath, ...args],
      {
        cwd: workdir,
        env: { PATH: process.env.PATH ?? "", WORKDIR: workdir, BACKENDS: "test" },
        timeout: 60_000,
      },
      (error, _stdout, stderr) => {
        if (error) return reject(new Error(`rap ${args.join(" ")}: ${error.message}\n${stderr}`));
        resolve(stderr);
      },
    );
  });
}

test("rap --help loads none of the packages a command runs with, only commander", async () => {
  expect([...(await packagesLoaded(["--help"]))]).toEqual(["commander"]);
});

test("rap migrate and rap tick on SQLite load neither the server's, the agent's nor PostgreSQL's packages", async () => {
  for (const args of [["migrate"], ["tick"]]) {
    const loaded = await packagesLoaded(args);
    expect(loaded, args[0]).toContain("better-sqlite3");
    for (const heavy of [...SERVER_AND_AGENT, "pg"]) expect(loaded, args[0]).not.toContain(heavy);
  }
});

test("rap tick loads our code and Kysely as a few bundled modules, not one per source file (scripts/build.mjs)", async () => {
  const ours = await buildModulesLoaded(["tick"]);
  // Compiled file by file, `rap tick` loaded 137 of our modules and 263 of Kysely's.
  expect(ours.size).toBeGreaterThan(0);
  expect(ours.size).toBeLessThan(50);
  expect(await packagesLoaded(["tick"])).not.toContain("kysely");
});
