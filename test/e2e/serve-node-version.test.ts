/**
 * The Node.js version a newcomer is told about is the one every installed package accepts, and the one `rap serve`
 * checks at start-up: package.json's engines, MINIMUM_NODE, the README, and each package-lock entry's engines agree.
 * (A dependency once needed Node 22 while the README said 20, and `npm ci` warned about it.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";
import { expect, test } from "vitest";
import { checkNodeVersion, MINIMUM_NODE, UnsupportedNodeError } from "../../src/app/node-version.js";
import { repoRoot } from "../support/requirements.js";

const json = (file: string) => JSON.parse(readFileSync(join(repoRoot, file), "utf8"));

test("package.json's engines, MINIMUM_NODE and the README state the same version", () => {
  expect(json("package.json").engines.node).toBe(`>=${MINIMUM_NODE}`);
  const [major, minor] = MINIMUM_NODE.split(".");
  expect(readFileSync(join(repoRoot, "README.md"), "utf8")).toContain(`Node.js ${major}.${minor} or later`);
});

test("every package in the lock file accepts the oldest Node.js we state", () => {
  const packages = json("package-lock.json").packages as Record<string, { engines?: { node?: string } }>;
  const refusing = Object.entries(packages)
    .map(([path, entry]) => [path, entry.engines?.node] as const)
    .filter(([, range]) => range !== undefined && !semver.satisfies(MINIMUM_NODE, range))
    .map(([path, range]) => `${path} wants node ${range}`);
  expect(refusing).toEqual([]);
});

test("an older Node.js is refused with a message naming both versions", () => {
  expect(() => checkNodeVersion("20.12.2")).toThrow(
    new UnsupportedNodeError(`rap-runner needs Node.js ${MINIMUM_NODE} or later; this is Node.js 20.12.2`),
  );
  expect(() => checkNodeVersion("18.20.0")).toThrow(UnsupportedNodeError);
  expect(() => checkNodeVersion(MINIMUM_NODE)).not.toThrow();
  expect(() => checkNodeVersion("20.20.2")).not.toThrow();
  expect(() => checkNodeVersion("22.1.0")).not.toThrow();
});
