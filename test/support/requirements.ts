/**
 * Tests that need something outside the repository (the shared corpus, Docker, PostgreSQL) skip with a clear
 * message when it is missing, so a newcomer's laptop still runs the rest. CI sets RAP_REQUIRE_ALL_TESTS=1: there a
 * missing requirement fails the run instead of skipping silently.
 */
import { existsSync } from "node:fs";
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
