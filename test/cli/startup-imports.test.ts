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

/** What a `rap` command loads: the packages (under node_modules) and our own modules (under dist/). */
async function loaded(args: string[]): Promise<{ packages: Set<string>; ours: Set<string> }> {
  const trace = await modulesLoaded(args);
  const packages = trace.matchAll(/^loaded \S*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm);
  const ours = trace.matchAll(/^loaded file:\/\/(?!\S*\/node_modules\/)\S*\/dist\/(\S+\.js)$/gm);
  return {
    packages: new Set([...packages].map((match) => match[1]!)),
    ours: new Set([...ours].map((match) => match[1]!)),
  };
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
  expect([...(await loaded(["--help"])).packages]).toEqual(["commander"]);
});

test("rap migrate and rap tick on SQLite load neither the server's, the agent's nor PostgreSQL's packages", async () => {
  for (const args of [["migrate"], ["tick"]]) {
    const { packages } = await loaded(args);
    expect(packages, args[0]).toContain("better-sqlite3");
    for (const heavy of [...SERVER_AND_AGENT, "pg"]) expect(packages, args[0]).not.toContain(heavy);
  }
});

test("rap tick loads our code and Kysely as a few bundled modules, not one per source file (scripts/build.mjs)", async () => {
  const { ours, packages } = await loaded(["tick"]);
  // Compiled file by file, `rap tick` loaded 137 of our modules and 263 of Kysely's.
  expect(ours.size).toBeGreaterThan(0);
  expect(ours.size).toBeLessThan(50);
  expect(packages).not.toContain("kysely");
});
