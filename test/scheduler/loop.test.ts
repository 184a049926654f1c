/**
 * The scheduler loop as job-server and agents see it (reference/scenarios.md group F, S122–S149): jobs created
 * through the RAP API from real git repositories, one scheduler pass at a time, a test agent reporting over the
 * Task API, status read back through rap/status/.
 */
import { afterEach, describe, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { DATABASE_EXIT_CODES } from "../../src/domain/messages.js";
import { setDbMaintenance, setPaused } from "../../src/ops/flags.js";
import { FX_ACT, FX_GIT } from "../jobs/fixtures.js";
import { type System, startSystem, T0_MS } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";
import { createRap, iso, project, studyRepo } from "./support.js";

const T0 = T0_MS / 1000;
let system: System;
afterEach(async () => system?.close());

async function start(env: Record<string, string> = {}, files?: Record<string, string>) {
  system = await startSystem(env, files ? { files } : {});
  return system;
}

const second = () => system.clock.advance(1000);

describe("starting jobs", () => {
  test("S122/S144: a pending job gets a RUNJOB task and is running/initiated, with the reference's definition", async () => {
    await start();
    const repo = await studyRepo(FX_ACT);
    const rap = await createRap(system, repo, ["action1"]);
    const id = deterministicJobId(rap, "action1");
    expect((await system.jobs(rap)).action1).toMatchObject({ status: "pending", status_code: "created" });
    second();
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: "running",
      status_code: "initiated",
      status_message: "Job executing on the backend",
      started_at: iso(T0 + 1),
      updated_at: iso(T0 + 1),
      created_at: iso(T0),
    });
    expect(await system.agent().tasks()).toEqual([
      {
        id: `${id}-001`,
        backend: "test",
        type: "runjob",
        definition: {
          id,
          rap_id: rap,
          task_id: `${id}-001`,
          repo_url: repo.path,
          commit: repo.commit,
          study: { git_repo_url: repo.path, commit: repo.commit, branch: "main" },
          workspace: "workspace",
          action: "action1",
          created_at: T0,
          image: "ghcr.io/opensafely-core/python:v2",
          image_sha: null,
          args: ["analysis/a1.py"],
          env: { OPENSAFELY_BACKEND: "test" },
          inputs: [],
          input_job_ids: [],
          output_spec: { "output/a1.txt": "moderately_sensitive" },
          allow_database_access: false,
          level4_max_csv_rows: 5000,
          level4_max_filesize: 16777216,
          user: "test_user",
          database_name: null,
          cpu_count: 2,
          memory_limit: "4G",
          level4_file_types: [
            ".csv",
            ".html",
            ".jpeg",
            ".jpg",
            ".json",
            ".log",
            ".md",
            ".png",
            ".svg",
            ".svgz",
            ".txt",
          ],
        },
        attributes: { user: "test_user", project: "test_project", orgs: "test_org" },
        created_at: T0 + 1,
      },
    ]);
    // A second pass changes nothing: the job is running and its task still active.
    await system.tick();
    expect(await system.agent().tasks()).toHaveLength(1);
  });

  test("S145: a database job's definition carries EHRQL_PERMISSIONS from its analysis scope; stata-mp gets STATA_LICENSE", async () => {
    await start({ STATA_LICENSE: "licence-text" });
    const repo = await studyRepo(FX_GIT);
    const rap = await createRap(system, repo, ["generate_dataset"], {
      analysis_scope: { dataset_permissions: ["waiting_list", "appointments"] },
    });
    await system.tick();
    const [task] = await system.agent().tasks();
    expect(task!.definition).toMatchObject({
      allow_database_access: true,
      database_name: "default",
      env: { OPENSAFELY_BACKEND: "test", EHRQL_PERMISSIONS: '["appointments", "waiting_list"]' },
      image: "ghcr.io/opensafely-core/ehrql:v1",
      args: ["generate-dataset", "analysis/dataset_definition.py", "--output", "output/dataset.csv.gz"],
    });
    await system.agent().finish(task!.id, finishedResults({ exit_code: 0 }));
    await system.tick(); // generate_dataset succeeds
    const model = await createRap(system, repo, ["run_model"]);
    await system.tick();
    const modelTask = (await system.agent().tasks()).find((t) => t.definition.rap_id === model)!;
    expect(modelTask.definition.env).toEqual({ OPENSAFELY_BACKEND: "test", STATA_LICENSE: "licence-text" });
    expect(modelTask.definition.input_job_ids).toEqual([deterministicJobId(rap, "generate_dataset")]);
  });

  test("S123/S124: a dependent waits, then fails when its dependency fails", async () => {
    await start();
    const rap = await createRap(system, await studyRepo(FX_GIT), ["run_model"]);
    await system.tick();
    let jobs = await system.jobs(rap);
    expect(jobs.generate_dataset).toMatchObject({ status: "running", status_code: "initiated" });
    expect(jobs.run_model).toMatchObject({
      status: "pending",
      status_code: "waiting_on_dependencies",
      status_message: "Waiting on dependencies",
    });
    const tasks = await system.agent().tasks();
    expect(tasks.map((t) => t.id)).toEqual([`${jobs.generate_dataset.identifier}-001`]);

    await system.agent().finish(tasks[0]!.id, finishedResults({ exit_code: 1 }));
    second();
    await system.tick();
    jobs = await system.jobs(rap);
    expect(jobs.generate_dataset).toMatchObject({
      status: "failed",
      status_code: "nonzero_exit",
      status_message: "Job exited with an error: message",
    });
    expect(jobs.run_model).toMatchObject({
      status: "failed",
      status_code: "dependency_failed",
      status_message: "Not starting as dependency failed",
      started_at: null,
      completed_at: iso(T0 + 1),
    });
  });

  test("S125: no workers → waiting_on_workers and no task", async () => {
    await start({ TEST_MAX_WORKERS: "0" });
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: "pending",
      status_code: "waiting_on_workers",
      status_message: "Waiting on available workers",
    });
    expect(await system.agent().tasks()).toEqual([]);
  });

  test("S126: worker limits are per backend", async () => {
    await start({
      BACKENDS: "foo,bar",
      FOO_MAX_WORKERS: "1",
      BAR_MAX_WORKERS: "1",
      FOO_CLIENT_TOKENS: "test_token",
      BAR_CLIENT_TOKENS: "test_token",
      FOO_JOB_SERVER_TOKEN: "foo_agent",
      BAR_JOB_SERVER_TOKEN: "bar_agent",
    });
    const repo = await studyRepo(FX_ACT);
    const a = await createRap(system, repo, ["action1"], { backend: "foo" });
    await system.tick();
    const b = await createRap(system, repo, ["action2"], { backend: "foo" });
    const c = await createRap(system, repo, ["action3"], { backend: "bar" });
    await system.tick();
    expect((await system.jobs(a)).action1.status).toBe("running");
    expect((await system.jobs(b)).action2).toMatchObject({
      status: "pending",
      status_code: "waiting_on_workers",
      status_message: "Waiting on available workers",
    });
    expect((await system.jobs(c)).action3).toMatchObject({ status: "running", status_code: "initiated" });
    expect(
      (await system.agent("foo", "foo_agent").tasks()).length +
        (await system.agent("bar", "bar_agent").tasks()).length,
    ).toBe(2);
  });

  test("S127: resource weights from WORKDIR/job-resource-weights_test.ini", async () => {
    await start(
      { TEST_MAX_WORKERS: "2" },
      { "job-resource-weights_test.ini": "[workspace]\naction\\d{1} = 1.5\n" },
    );
    const repo = await studyRepo(
      project({
        action1: { run: "python:v2 a.py" },
        action2: { run: "python:v2 b.py" },
        non_matching_action: { run: "python:v2 c.py" },
      }),
    );
    const first = await createRap(system, repo, ["action1"]);
    await system.tick();
    const rest = await createRap(system, repo, ["action2", "non_matching_action"]);
    await system.tick();
    expect((await system.jobs(first)).action1).toMatchObject({ status: "running", status_code: "initiated" });
    const jobs = await system.jobs(rest);
    expect(jobs.action2).toMatchObject({
      status_code: "waiting_on_workers",
      status_message: "Waiting on available workers for resource intensive job",
    });
    expect(jobs.non_matching_action).toMatchObject({
      status_code: "waiting_on_workers",
      status_message: "Waiting on available workers",
    });
  });

  test("S128/S129: database jobs use their own pool", async () => {
    await start({ TEST_MAX_WORKERS: "1", TEST_MAX_DB_WORKERS: "1" });
    const repo = await studyRepo(
      project({
        db1: { run: "ehrql:v1 generate-dataset a.py --output x.csv", out: "x.csv" },
        db2: { run: "ehrql:v1 generate-dataset b.py --output y.csv", out: "y.csv" },
        plain1: { run: "python:v2 a.py" },
        plain2: { run: "python:v2 b.py" },
      }),
    );
    const expectCode = async (action: string, code: string) => {
      const rap = await createRap(system, repo, [action]);
      await system.tick();
      expect((await system.jobs(rap))[action].status_code).toBe(code);
    };
    await expectCode("db1", "initiated");
    await expectCode("db2", "waiting_on_db_workers");
    await expectCode("plain1", "initiated");
    await expectCode("plain2", "waiting_on_workers");
    const waiting = await createRap(system, repo, ["db2"], { workspace: "other" });
    await system.tick();
    expect((await system.jobs(waiting)).db2.status_message).toBe("Waiting on available database workers");
  });

  test("S130: database job weights", async () => {
    await start(
      { TEST_MAX_DB_WORKERS: "3", TEST_MAX_WORKERS: "10" },
      { "job-resource-weights_test.ini": "[workspace]\nhigh_load.* = 2.0\n" },
    );
    const repo = await studyRepo(
      project({
        high_load_1: { run: "ehrql:v1 generate-dataset a.py --output x.csv", out: "x.csv" },
        high_load_2: { run: "ehrql:v1 generate-dataset b.py --output y.csv", out: "y.csv" },
        normal_load: { run: "ehrql:v1 generate-dataset c.py --output z.csv", out: "z.csv" },
      }),
    );
    const codes: Record<string, string> = {};
    for (const action of ["high_load_1", "high_load_2", "normal_load"]) {
      const rap = await createRap(system, repo, [action]);
      await system.tick();
      codes[action] = (await system.jobs(rap))[action].status_code;
    }
    expect(codes).toEqual({
      high_load_1: "initiated",
      high_load_2: "waiting_on_db_workers",
      normal_load: "initiated",
    });
  });
});

describe("what the agent reports", () => {
  async function runningJob() {
    await start();
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    await system.tick();
    const [task] = await system.agent().tasks();
    return { rap, taskId: task!.id };
  }

  test("S131: stages move the code, keep the message, and are stamped with the agent's time", async () => {
    const { rap, taskId } = await runningJob();
    const agent = system.agent();
    const stamps: Record<string, number> = {
      preparing: 2,
      prepared: 3,
      executing: 10,
      executed: 20,
      finalizing: 21,
    };
    for (const [stage, offset] of Object.entries(stamps)) {
      expect(await agent.update(taskId, stage, { timestampNs: (T0 + offset) * 1e9 + 250_000_000 })).toEqual({
        status: 200,
        json: { response: "Update successful" },
      });
      await system.tick();
      expect((await system.jobs(rap)).action1).toMatchObject({
        status: "running",
        status_code: stage,
        status_message: "Job executing on the backend",
        updated_at: iso(T0 + offset),
        started_at: iso(T0),
      });
    }
    for (const stage of ["unknown", "error"]) {
      await agent.update(taskId, stage, { timestampNs: (T0 + 30) * 1e9 });
      await system.tick();
      expect((await system.jobs(rap)).action1.status_code).toBe("finalizing");
    }
  });

  test("S132/S156: updated_at is a heartbeat: unchanged within a minute, then the pass's time", async () => {
    const { rap, taskId } = await runningJob();
    await system.agent().update(taskId, "executing", { timestampNs: "" });
    system.clock.advance(5_000);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status_code: "executing",
      updated_at: iso(T0 + 5),
    });
    system.clock.advance(30_000);
    await system.tick();
    expect((await system.jobs(rap)).action1.updated_at).toBe(iso(T0 + 5));
    system.clock.advance(31_000);
    await system.tick();
    expect((await system.jobs(rap)).action1.updated_at).toBe(iso(T0 + 66));
  });

  test("S133: success; the task leaves the task list as soon as the completion is posted", async () => {
    const { rap, taskId } = await runningJob();
    await system.agent().finish(taskId, finishedResults({ exit_code: "0" }), (T0 + 42) * 1e9 + 999);
    expect(await system.agent().tasks()).toEqual([]);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: "succeeded",
      status_code: "succeeded",
      status_message: "Completed successfully",
      completed_at: iso(T0 + 42),
      updated_at: iso(T0 + 42),
      metrics: { cpu_peak: 12 },
    });
  });

  test.each([
    [
      { has_level4_excluded_files: true },
      "succeeded",
      "succeeded",
      "Completed successfully, but some file(s) marked as moderately_sensitive were excluded. See job log for details.",
    ],
    [
      { has_unmatched_patterns: true },
      "failed",
      "unmatched_patterns",
      "Outputs matching expected patterns were not found. See job log for details.",
    ],
    [{ error: "test_job_failure" }, "failed", "job_error", "This job returned a fatal error."],
    [
      { exit_code: 3, status_message: "A message from the results" },
      "failed",
      "nonzero_exit",
      "Job exited with an error: A message from the results",
    ],
    [{ exit_code: 4, status_message: null }, "failed", "nonzero_exit", "Job exited with an error"],
  ])("S134/S136/S137/S135: results %j → %s/%s", async (results, state, code, message) => {
    const { rap, taskId } = await runningJob();
    await system.agent().finish(taskId, finishedResults(results));
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: state,
      status_code: code,
      status_message: message,
    });
  });

  test("S135: database exit codes explain themselves on database jobs only; the agent's message wins", async () => {
    await start({ TEST_MAX_DB_WORKERS: "20" });
    const repo = await studyRepo(FX_GIT);
    const cases: Array<[number, string | null, string]> = [
      [2, null, `Job exited with an error: ${DATABASE_EXIT_CODES[2]}`],
      [
        3,
        null,
        "Job exited with an error: A transient database error occurred, your job may run if you try it again, if it keeps failing then contact tech support",
      ],
      [
        4,
        null,
        "Job exited with an error: New data is being imported into the database, please try again in a few hours",
      ],
      [
        5,
        null,
        "Job exited with an error: Something went wrong with the database, please contact tech support",
      ],
      [5, "A message from the results", "Job exited with an error: A message from the results"],
      [6, null, `Job exited with an error: ${DATABASE_EXIT_CODES[6]}`],
      [7, null, "Job exited with an error"],
      [10, null, `Job exited with an error: ${DATABASE_EXIT_CODES[10]}`],
      [11, null, `Job exited with an error: ${DATABASE_EXIT_CODES[11]}`],
      [12, null, `Job exited with an error: ${DATABASE_EXIT_CODES[12]}`],
      [13, null, `Job exited with an error: ${DATABASE_EXIT_CODES[13]}`],
      [14, null, `Job exited with an error: ${DATABASE_EXIT_CODES[14]}`],
    ];
    const raps: string[] = [];
    for (const [i] of cases.entries())
      raps.push(await createRap(system, repo, ["generate_dataset"], { workspace: `ws${i}` }));
    await system.tick();
    const tasks = await system.agent().tasks();
    for (const [i, [exit, message]] of cases.entries()) {
      const task = tasks.find((t) => t.definition.rap_id === raps[i])!;
      await system.agent().finish(task.id, finishedResults({ exit_code: exit, status_message: message }));
    }
    await system.tick();
    for (const [i, [, , expected]] of cases.entries()) {
      expect((await system.jobs(raps[i]!)).generate_dataset).toMatchObject({
        status_code: "nonzero_exit",
        status_message: expected,
      });
    }
    expect(DATABASE_EXIT_CODES[6]).toBe(
      "Your ehrQL is valid but it produced SQL which is too complex for the database to run; please contact tech-support so we can help you simplify it.",
    );
  });

  test("S138: an agent error is retried with a new task; after MAX_TASK_RETRIES the job fails (DESIGN DECISIONS 4)", async () => {
    await start({ MAX_TASK_RETRIES: "3" });
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    const id = deterministicJobId(rap, "action1");
    await system.tick();
    for (const n of [1, 2]) {
      await system.agent().finish(`${id}-00${n}`, finishedResults({ error: "test_soft_failure" }));
      await system.tick();
      expect((await system.jobs(rap)).action1).toMatchObject({
        status: "pending",
        status_code: "waiting_on_new_task",
        status_message: "This job returned an error that could be retried with a new task.",
        started_at: null,
      });
      await system.tick();
      expect((await system.jobs(rap)).action1).toMatchObject({ status: "running", status_code: "initiated" });
      expect((await system.agent().tasks()).map((t) => t.id)).toEqual([`${id}-00${n + 1}`]);
    }
    await system.agent().finish(`${id}-003`, finishedResults({ error: { type: "Boom", message: "again" } }));
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: "failed",
      status_code: "internal_error",
      status_message:
        "Internal error: this usually means a platform issue rather than a problem for users to fix.\nThe tech team are automatically notified of these errors and will be investigating.",
    });
  });
});

describe("flags", () => {
  test("S139/S140: database maintenance holds pending database jobs and stops running ones; others carry on", async () => {
    await start();
    const repo = await studyRepo(FX_GIT);
    const rap = await createRap(system, repo, ["generate_dataset"]);
    const plain = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    const id = deterministicJobId(rap, "generate_dataset");
    second();
    await system.tick();
    expect((await system.jobs(rap)).generate_dataset.status).toBe("running");
    await setDbMaintenance(system.controller.storage.flags, "test", true);
    await system.tick();
    expect((await system.jobs(rap)).generate_dataset).toMatchObject({
      status: "pending",
      status_code: "waiting_db_maintenance",
      status_message: "Waiting for database to finish maintenance",
      started_at: null,
    });
    expect((await system.jobs(plain)).action1.status).toBe("running");
    expect((await system.agent().tasks()).map((t) => [t.id, t.type]).sort()).toEqual(
      [
        [`${id}-001-cancel`, "canceljob"],
        [`${deterministicJobId(plain, "action1")}-001`, "runjob"],
      ].sort(),
    );
    await setDbMaintenance(system.controller.storage.flags, "test", false);
    second();
    await system.tick();
    expect((await system.jobs(rap)).generate_dataset).toMatchObject({
      status: "running",
      status_code: "initiated",
      started_at: iso(T0 + 2),
    });
    expect((await system.agent().tasks()).map((t) => t.id)).toContain(`${id}-002`);
  });

  test("S141/S142/S146: pause holds pending jobs, leaves running ones; jobs waiting for a reboot keep saying so", async () => {
    await start();
    const repo = await studyRepo(FX_ACT);
    const running = await createRap(system, repo, ["action1"]);
    await system.tick();
    // prepare-for-reboot puts the running job back to pending (waiting on the reboot) and pauses the backend.
    const { prepareForReboot, rebootStatus } = await import("../../src/ops/reboot.js");
    system.clock.advance(60_000);
    expect(await prepareForReboot({ ...system.controller, clock: system.clock }, "test")).toBe(1);
    expect((await system.jobs(running)).action1).toMatchObject({
      status: "pending",
      status_code: "waiting_on_reboot",
      status_message: "Job restarted - waiting for server to reboot",
      started_at: null,
      updated_at: iso(T0 + 60),
    });
    expect((await system.agent().tasks()).map((t) => t.type)).toEqual(["canceljob"]);
    expect(await rebootStatus(system.controller.storage, "test")).toBe(
      "\n== PREPARING FOR REBOOT ==\n1) backend 'test' is paused\n2) 0 job(s) are running\n3) 1 job(s) are being cancelled\n",
    );
    const [cancel] = await system.agent().tasks();
    await system.agent().update(cancel!.id, "finalized", { complete: true });
    expect(await rebootStatus(system.controller.storage, "test")).toBe(
      "\n== PREPARING FOR REBOOT ==\n1) backend 'test' is paused\n2) 0 job(s) are running\n\n== READY TO REBOOT ==\nSafe to reboot now\n",
    );

    const fresh = await createRap(system, repo, ["action2"]);
    system.clock.advance(5 * 60_000);
    await system.tick();
    expect((await system.jobs(fresh)).action2).toMatchObject({
      status: "pending",
      status_code: "paused",
      status_message: "Backend is currently paused for maintenance, job will start once this is completed",
      updated_at: iso(T0 + 360),
      started_at: null,
    });
    expect((await system.jobs(running)).action1).toMatchObject({
      status_code: "waiting_on_reboot",
      updated_at: iso(T0 + 360),
    });
    await setPaused(system.controller.storage.flags, "test", false);
    await system.tick();
    expect((await system.jobs(running)).action1).toMatchObject({
      status: "running",
      status_code: "initiated",
    });
  });

  test("S142: a paused backend lets running jobs carry on", async () => {
    await start();
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    await system.tick();
    await setPaused(system.controller.storage.flags, "test", true);
    await system.agent().update(`${deterministicJobId(rap, "action1")}-001`, "executing");
    await system.tick();
    const job = (await system.jobs(rap)).action1;
    expect(job).toMatchObject({ status: "running", status_code: "executing" });
    expect(job.status_message).not.toMatch(/paused/);
  });
});

describe("cancelling", () => {
  test("§11.2: a running job's task is stopped: its RUNJOB task ends and a CANCELJOB task asks the agent", async () => {
    await start();
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1", "action2"]);
    const id = deterministicJobId(rap, "action1");
    await system.tick();
    system.clock.advance(7_000);
    expect((await system.post("/rap/cancel/", { rap_id: rap, actions: ["action1"] })).status).toBe(200);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: "failed",
      status_code: "cancelled_by_user",
      status_message: "Cancelled by user",
      completed_at: iso(T0 + 7),
    });
    const tasks = await system.agent().tasks();
    expect(tasks.map((t) => [t.id, t.type])).toEqual([
      [`${deterministicJobId(rap, "action2")}-001`, "runjob"],
      [`${id}-001-cancel`, "canceljob"],
    ]);
    expect(tasks[1]!.definition).toMatchObject({
      task_id: `${id}-001-cancel`,
      image_sha: null,
      action: "action1",
    });
    // The agent's late report for the stopped task is kept, but never brings the task back.
    await system.agent().update(`${id}-001`, "executing");
    expect((await system.agent().tasks()).map((t) => t.id)).not.toContain(`${id}-001`);
  });

  test("S172: a job cancelled before it started fails at once with no cancel task", async () => {
    await start();
    const rap = await createRap(system, await studyRepo(FX_GIT), ["run_model"]);
    await system.post("/rap/cancel/", { rap_id: rap, actions: ["run_model"] });
    await system.tick();
    expect((await system.jobs(rap)).run_model).toMatchObject({
      status: "failed",
      status_message: "Cancelled by user",
    });
    expect((await system.agent().tasks()).map((t) => t.type)).toEqual(["runjob"]);
  });

  test("S143: a new job's inputs are the latest uncancelled job of each needed action", async () => {
    await start();
    const repo = await studyRepo(
      project({
        "other-action": { run: "python:v2 a.py" },
        "action-with-no-outputs": { run: "python:v2 b.py" },
        needs_both: { run: "python:v2 c.py", needs: ["other-action", "action-with-no-outputs"] },
      }),
    );
    const agent = system.agent();
    const finishAll = async () => {
      for (const task of await agent.tasks()) if (task.type === "runjob") await agent.finish(task.id);
      await system.tick();
    };
    const first = await createRap(system, repo, ["other-action", "action-with-no-outputs"]);
    await system.tick();
    await finishAll();
    second();
    const rerun = await createRap(system, repo, ["other-action"]);
    await system.tick();
    await system.post("/rap/cancel/", { rap_id: rerun, actions: ["other-action"] });
    await system.tick();
    expect((await system.jobs(rerun))["other-action"].status_code).toBe("cancelled_by_user");
    const last = await createRap(system, repo, ["needs_both"]);
    await system.tick();
    const task = (await agent.tasks()).find((t) => t.definition.rap_id === last)!;
    expect(task.definition.input_job_ids).toEqual([
      deterministicJobId(first, "other-action"),
      deterministicJobId(first, "action-with-no-outputs"),
    ]);
  });
});
