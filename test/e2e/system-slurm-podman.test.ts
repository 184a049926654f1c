/**
 * The whole-system suite with EXECUTOR=slurm and SLURM_CONTAINER_ENGINE=podman: every job a Slurm batch job on the
 * single-host test cluster, its container run by podman (scripts/setup-test-podman.sh), not Docker.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requires, slurmPodmanRequirement, testImage } from "../support/requirements.js";
import { holdSharedResource } from "../support/shared-resource.js";
import { wholeSystemSuite } from "./system-suite.js";

// One file at a time on the cluster: another drains its node or fills it with 50 jobs.
await holdSharedResource("slurm-cluster");
const podman = requires(await slurmPodmanRequirement());

/** Whether podman on this machine reports a container killed for its memory as such (see SuiteVariant). */
function podmanReportsOom(): boolean {
  const name = `rap-oom-probe-${randomBytes(4).toString("hex")}`;
  // conmon writes a file named `oom` into the working directory of a container killed for its memory.
  const cwd = mkdtempSync(join(tmpdir(), "rap-oom-probe-"));
  try {
    execFileSync(
      "podman",
      ["run", `--name=${name}`, "--memory=32m", testImage, "-c", "b = bytearray(256 << 20)"],
      { stdio: "ignore", timeout: 60_000, cwd },
    );
  } catch {
    // Killed, as it should be: how podman reports it is the question.
  }
  try {
    const oom = execFileSync("podman", ["inspect", "--format={{.State.OOMKilled}}", name], {
      encoding: "utf8",
    });
    return oom.trim() === "true";
  } finally {
    execFileSync("podman", ["rm", "--force", name], { stdio: "ignore" });
    rmSync(cwd, { recursive: true, force: true });
  }
}

wholeSystemSuite("slurm", podman, {
  name: "slurm (podman)",
  agentEnv: { SLURM_CONTAINER_ENGINE: "podman" },
  oomReported: podman && podmanReportsOom(),
});
