/**
 * `rap demo --exit` as a newcomer runs it: the built command in a temp directory (WORKDIR defaults to ./workdir),
 * the example study (examples/study) through the RAP API, the controller and the in-process agent, to the files a
 * researcher and an output checker look at. With the local executor always (through a real terminal, for the
 * progress bar); with Docker when an engine and the test image are here (chosen automatically; plain lines, as
 * when piped), and the fallback to the local executor when the engine lacks the image.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { cliPath } from "../support/cli.js";
import { createTempDir, removeDir } from "../support/git-fixtures.js";
import { freePort } from "../support/ports.js";
import { dockerRequirement, requires } from "../support/requirements.js";
import { start, startRap } from "./serve-support.js";

const docker = requires(await dockerRequirement());
const terminal = requires({
  available: existsSync("/usr/bin/script"),
  reason: "/usr/bin/script (util-linux) is missing: it gives the demo a terminal",
});
/** Whole-system runs on a shared machine: generous, since no assertion is about time. */
const TIMEOUT_MS = 180_000;
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

/** The reference's text for a moderately_sensitive CSV with a patient_id column, as written to `{file}.txt`. */
const PATIENT_ID_MESSAGE = `
The file:

output/patient_list.csv

has not been made available in level 4 because it has a \`patient_id\` column.

Patient level data is not allowed by policy in level 4.

You should change this file's privacy to \`highly_sensitive\` in your
project.yaml. Or, if is aggregrate data, you should remove the patient_id
column from your data.

`;

async function demoDir() {
  const dir = await createTempDir("rap-demo-");
  dirs.push(dir);
  return { dir, port: String(await freePort()) };
}

/** What a successful run of the example study leaves in WORKDIR. */
async function expectStudyOutputs(workdir: string) {
  const high = join(workdir, "high_privacy", "workspaces", "demo");
  const medium = join(workdir, "medium_privacy", "workspaces", "demo");
  expect((await readdir(join(high, "output"))).sort()).toEqual([
    "age_bands.csv",
    "age_bands.svg",
    "dataset.csv",
    "model_cohort.csv",
    "model_report.md",
    "outcome_rates.csv",
    "patient_list.csv",
  ]);
  // Level 4: the aggregate outputs and the chart; the patient-level CSV replaced by the reason it was held back.
  expect((await readdir(join(medium, "output"))).sort()).toEqual([
    "age_bands.csv",
    "age_bands.svg",
    "model_report.md",
    "outcome_rates.csv",
    "patient_list.csv.txt",
  ]);
  expect(await readFile(join(medium, "output", "patient_list.csv.txt"), "utf8")).toBe(PATIENT_ID_MESSAGE);
  expect(await readFile(join(medium, "output", "age_bands.csv"), "utf8")).toMatch(
    /^age_band,patients\r?\n18-39,\d+/,
  );
  expect(await readFile(join(medium, "output", "age_bands.svg"), "utf8")).toMatch(/^<svg xmlns=/);

  const manifest = JSON.parse(await readFile(join(medium, "metadata", "manifest.json"), "utf8"));
  expect(manifest.workspace).toBe("demo");
  expect(manifest.outputs["output/dataset.csv"]).toMatchObject({
    level: "highly_sensitive",
    excluded: false,
  });
  expect(manifest.outputs["output/patient_list.csv"]).toMatchObject({
    level: "moderately_sensitive",
    excluded: true,
    message: "File has patient_id column",
  });
  expect(manifest.outputs["output/age_bands.svg"]).toMatchObject({
    level: "moderately_sensitive",
    excluded: false,
  });
  for (const action of ["generate_dataset", "describe_population", "model_outcomes"]) {
    expect(existsSync(join(high, "metadata", `${action}.log`)), action).toBe(true);
    expect(existsSync(join(medium, "metadata", `${action}.log`)), action).toBe(true);
  }
  expect(await readFile(join(high, "metadata", "generate_dataset.log"), "utf8")).toContain(
    "wrote output/dataset.csv: 1000 patients",
  );
}

describe.skipIf(!terminal)("in a terminal, with the local executor", () => {
  test("the example study runs to success with a progress bar; --exit ends with code 0", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const { dir, port } = await demoDir();
    const demo = start([`script -qec '${process.execPath} ${cliPath} demo --exit' /dev/null`], {
      cwd: dir,
      env: { PORT: port, EXECUTOR: "local", TERM: "xterm" },
      shell: true,
    });
    expect(await demo.exited, demo.output()).toBe(0);
    const output = demo.output();
    expect(output).toContain("executor:  local (EXECUTOR=local)");
    expect(output).toMatch(/Submitted run_all of .*demo-study \(commit [0-9a-f]{7}\) as RAP [a-z0-9]{16}/);
    // Redrawn in place: the line-clearing escape, then the final state of the block and the full bar.
    expect(output).toContain("\x1b[2K");
    expect(output).toMatch(/generate_dataset\s+succeeded\s+Completed successfully/);
    // Cut to the terminal's width (80 columns when it has no size).
    expect(output).toMatch(
      /describe_population\s+succeeded\s+Completed successfully, but some file\(s\) marked/,
    );
    expect(output).toContain(`[${"#".repeat(30)}] 3/3 jobs finished`);
    expect(output).toContain("All 3 jobs succeeded.");
    const workdir = join(dir, "workdir");
    expect(output).toContain(
      `Manifest of the workspace:               ${workdir}/medium_privacy/workspaces/demo/metadata/manifest.json`,
    );
    await expectStudyOutputs(workdir);
  });
});

test("a study whose jobs fail: every job is final, and --exit ends with code 1", {
  timeout: TIMEOUT_MS,
}, async () => {
  const { dir, port } = await demoDir();
  // `false` stands in for python3: every action exits 1.
  const demo = startRap(["demo", "--exit"], {
    cwd: dir,
    env: { PORT: port, EXECUTOR: "local", LOCAL_EXECUTOR_COMMANDS: "python=false" },
  });
  expect(await demo.exited, demo.output()).toBe(1);
  const output = demo.output();
  expect(output).not.toContain("\x1b[");
  expect(output).toMatch(/generate_dataset\s+failed\s+Job exited with an error/);
  expect(output).toContain("3 of 3 jobs did not succeed: describe_population (dependency_failed)");
});

test("Ctrl-C while the jobs run: the demo shuts down, with exit code 1", {
  timeout: TIMEOUT_MS,
}, async () => {
  const { dir, port } = await demoDir();
  const demo = startRap(["demo"], { cwd: dir, env: { PORT: port, EXECUTOR: "local" } });
  await demo.waitFor("Submitted run_all");
  demo.child.kill("SIGINT");
  expect(await demo.exited, demo.output()).toBe(1);
  expect(demo.output()).not.toContain("jobs succeeded");
  expect(await readFile(join(dir, "workdir", "rap.log"), "utf8")).toContain("SIGINT received: shutting down");
});

describe.skipIf(!docker)("with Docker", () => {
  test("the example study runs to success in containers, one plain line per change", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const { dir, port } = await demoDir();
    const workdir = join(dir, "elsewhere");
    const demo = startRap(["demo", "--exit"], {
      cwd: dir,
      // No EXECUTOR: the engine answers and has the image, so Docker is chosen.
      env: { PORT: port, WORKDIR: workdir },
    });
    expect(await demo.exited, demo.output()).toBe(0);
    const output = demo.output();
    expect(output).toContain(
      "executor:  docker (a Docker engine answered; EXECUTOR=local runs actions as host processes instead)",
    );
    expect(output).not.toContain("\x1b[");
    expect(output).toMatch(/^model_outcomes\s+succeeded\s+Completed successfully$/m);
    expect(output).toContain("All 3 jobs succeeded.");
    await expectStudyOutputs(workdir);
  });

  test("an engine without the study's image: the demo says so and uses the local executor", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const { dir, port } = await demoDir();
    const demo = startRap(["demo", "--exit"], {
      cwd: dir,
      env: { PORT: port, DOCKER_REGISTRY: "registry.invalid/nothing-here" },
    });
    expect(await demo.exited, demo.output()).toBe(0);
    expect(demo.output()).toContain(
      "executor:  local (a Docker engine answered, but without registry.invalid/nothing-here/python:v2; " +
        "scripts/build-test-images.sh builds it)",
    );
    expect(demo.output()).toContain("All 3 jobs succeeded.");
  });
});
