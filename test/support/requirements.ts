/**
 * Tests that need something outside the repository (the shared corpus, Docker, PostgreSQL) skip with a clear
 * message when it is missing, so a newcomer's laptop still runs the rest. CI sets RAP_REQUIRE_ALL_TESTS=1: there a
 * missing requirement fails the run instead of skipping silently.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root (two levels above test/support). */
export const repoRoot = resolve(here, "..", "..");

/** `../shared` beside the checkout: third-party test data, read in place and never copied into the project. */
export const sharedDir = process.env.RAP_SHARED_DIR ?? resolve(repoRoot, "..", "shared");
export const corpusDir = resolve(sharedDir, "corpus");

export interface Requirement {
  available: boolean;
  /** Why it is missing, printed as the skip reason. */
  reason: string;
}

export function corpusRequirement(): Requirement {
  return {
    available: existsSync(resolve(corpusDir, "projects")) && existsSync(resolve(corpusDir, "vectors")),
    reason: `the shared corpus is not at ${corpusDir} (set RAP_SHARED_DIR)`,
  };
}

/** Debian's docker-registry: the real registry test/support/registry.ts starts. */
export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export function registryBinaryRequirement(): Requirement {
  return {
    available: existsSync(REGISTRY_BINARY),
    reason: `${REGISTRY_BINARY} is missing (install the Debian package docker-registry)`,
  };
}

/**
 * Returns true when the requirement is met. When it is not: throws under RAP_REQUIRE_ALL_TESTS=1, otherwise prints
 * why and returns false so the caller can use `describe.skipIf(!ok)`.
 */
export function requires(req: Requirement): boolean {
  if (req.available) return true;
  if (process.env.RAP_REQUIRE_ALL_TESTS === "1") {
    throw new Error(`required test dependency missing: ${req.reason}`);
  }
  console.warn(`skipping: ${req.reason}`);
  return false;
}

/** Set to 1 to run the README's install test: a real `npm ci` in a fresh copy (minutes). `.ci/run` sets it. */
export const README_INSTALL_VARIABLE = "RAP_TEST_README_INSTALL";

/**
 * The README's install test compiles better-sqlite3 from source for minutes, so a plain `npm test` leaves it out
 * unless asked; where every test is required (CI) a run that was not asked fails, as any missing requirement does.
 */
export function readmeInstallRequirement(): Requirement {
  return {
    available: process.env[README_INSTALL_VARIABLE] === "1",
    reason: `${README_INSTALL_VARIABLE} is not 1 (the README's install test, a real \`npm ci\` of several minutes, runs when asked)`,
  };
}

/** The image the Docker tests run (built locally by scripts/build-test-images.sh, never pulled). */
export const testImage = "ghcr.io/opensafely-core/python:v2";
export const dockerSocket = "/var/run/docker.sock";

/** One GET to the Docker Engine API over its socket: the status code, or null when nothing answers. */
function dockerGet(path: string): Promise<number | null> {
  return new Promise((resolveStatus) => {
    const request = httpRequest(
      { socketPath: dockerSocket, path, method: "GET", timeout: 5000 },
      (response) => {
        response.resume();
        resolveStatus(response.statusCode ?? null);
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolveStatus(null));
    request.end();
  });
}

/** A Docker engine answering on the socket, with the locally built test images. Async: use top-level await. */
export async function dockerRequirement(): Promise<Requirement> {
  if ((await dockerGet("/_ping")) !== 200) {
    return { available: false, reason: `no Docker engine answers on ${dockerSocket} (start dockerd)` };
  }
  if ((await dockerGet(`/images/${encodeURIComponent(testImage)}/json`)) !== 200) {
    return {
      available: false,
      reason: `the Docker test image ${testImage} is missing (run scripts/build-test-images.sh)`,
    };
  }
  return { available: true, reason: "" };
}

/** Debian's `docker-registry` (the distribution registry), for pull-by-digest tests against a loopback registry. */
export const dockerRegistryBinary = "/usr/bin/docker-registry";

export async function dockerRegistryRequirement(): Promise<Requirement> {
  const docker = await dockerRequirement();
  if (!docker.available) return docker;
  return {
    available: existsSync(dockerRegistryBinary),
    reason: `${dockerRegistryBinary} is missing (apt-get install docker-registry)`,
  };
}

/** Debian's chromium, which the dashboard's tests drive through playwright-core (nothing downloaded at run time). */
export const CHROMIUM_BINARY = "/usr/bin/chromium";

export function chromiumRequirement(): Requirement {
  return {
    available: existsSync(CHROMIUM_BINARY),
    reason: `${CHROMIUM_BINARY} is missing (install the Debian package chromium)`,
  };
}

/** Where tests keep what a person may want to look at afterwards (screenshots); gitignored. */
export const artifactsDir = resolve(repoRoot, "test-artifacts");

/**
 * A Slurm cluster whose node takes jobs (scripts/start-test-slurm.sh starts one on this machine), and Docker with
 * the test images there for its jobs to run. Asks `sinfo`; the tests' jobs run on this machine's node.
 */
export async function slurmRequirement(): Promise<Requirement> {
  const docker = await dockerRequirement();
  if (!docker.available) return docker;
  let states = "";
  try {
    states = execFileSync("sinfo", ["--noheader", "--format=%T"], { encoding: "utf8", timeout: 10_000 });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n", 1)[0] : String(error);
    return {
      available: false,
      reason: `no Slurm cluster answers sinfo (${reason}): run scripts/start-test-slurm.sh as root`,
    };
  }
  return {
    available: /^(idle|mixed|allocated)/m.test(states),
    reason: `the Slurm cluster has no node taking jobs (sinfo: ${states.trim() || "nothing"}): run scripts/start-test-slurm.sh`,
  };
}

/** A Slurm cluster that keeps accounting (`sacct` answers): scripts/start-test-slurm.sh sets it up with slurmdbd. */
export async function slurmAccountingRequirement(): Promise<Requirement> {
  const slurm = await slurmRequirement();
  if (!slurm.available) return slurm;
  try {
    execFileSync("sacct", ["--noheader", "--jobs=1"], { stdio: "pipe", timeout: 10_000 });
    return { available: true, reason: "" };
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return {
      available: false,
      reason: `the Slurm cluster keeps no accounting (sacct: ${stderr || String(error)}): install slurmdbd and mariadb-server, then run scripts/start-test-slurm.sh`,
    };
  }
}

/**
 * Podman on the Slurm node as its container engine, with the test images in its store: a Slurm cluster as above, and
 * `podman run` of the test image working (scripts/setup-test-podman.sh copies the images and configures podman).
 */
export async function slurmPodmanRequirement(): Promise<Requirement> {
  const slurm = await slurmRequirement();
  if (!slurm.available) return slurm;
  try {
    execFileSync("podman", ["run", "--rm", testImage, "-c", "pass"], { stdio: "pipe", timeout: 60_000 });
    return { available: true, reason: "" };
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    const reason = stderr || (error instanceof Error ? error.message.split("\n", 1)[0] : String(error));
    return {
      available: false,
      reason: `podman cannot run ${testImage} (${reason}): install podman and catatonit, then run scripts/setup-test-podman.sh as root`,
    };
  }
}
