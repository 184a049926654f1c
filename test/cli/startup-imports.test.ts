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
function packagesLoaded(args: string[]): Promise<Set<string>> {
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
        const packages = [...stderr.matchAll(/^loaded \S*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)];
        resolve(new Set(packages.map((match) => match[1]!)));
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
