/**
 * The oldest Node.js this project runs on: package.json's `engines.node` (a test keeps the two equal, and checks
 * every installed package accepts it). Some dependencies need 20.19, so an older Node fails at start-up with a
 * clear message instead of somewhere deep inside a dependency.
 */
export const MINIMUM_NODE = "20.19.0";

export class UnsupportedNodeError extends Error {
  readonly code = "UNSUPPORTED_NODE";
}

/** Throws UnsupportedNodeError when `version` (`process.versions.node` by default) is older than MINIMUM_NODE. */
export function checkNodeVersion(version: string = process.versions.node): void {
  const have = version.split(".").map(Number);
  const need = MINIMUM_NODE.split(".").map(Number);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) > need[i]!) return;
    if ((have[i] ?? 0) < need[i]!) {
      throw new UnsupportedNodeError(
        `rap-runner needs Node.js ${MINIMUM_NODE} or later; this is Node.js ${version}`,
      );
    }
  }
}
