/**
 * The contract of the storage roles (src/db/storage.ts), as one suite every implementation must pass: SQLite today,
 * PostgreSQL next. Each test gets a freshly migrated, empty storage from `open`.
 */

import { describe, expect, test } from "vitest";
import type { SchedulerChanges, Storage } from "../../src/db/storage.js";
import { State, StatusCode } from "../../src/domain/status.js";
import { runJobTaskId, TaskType } from "../../src/domain/task.js";
import { cancelRequest, transition } from "../../src/domain/transition.js";
import { makeJob, makeRunJobTask, rapId } from "../support/factories.js";

/**
 * `feedRereads`: the change feed may give a row again in a later read (src/db/storage.ts ChangeFeed), which
 * PostgreSQL's does while any transaction on the server (another database's, another test's) is older than the
 * write: its reads are checked to hold at least what was written since, and nothing of this test's not written since
 * the first read.
 */
export function storageConformance(
  name: string,
  open: () => Promise<{ storage: Storage; close(): Promise<void> }>,
  { feedRereads = false } = {},
) {
  describe(`${name} storage`, () => {
    const withStorage = (run: (storage: Storage) => Promise<void>) => async () => {
      const { storage, close } = await open();
      try {
        await run(storage);
      } finally {
        await close();
      }
    };

    test(
      "applyStatus writes only while the job is as it was read (status code and cancellation)",
      withStorage(async (storage) => {
        const job = makeJob();
        await storage.jobs.insert([job]);
        const started = transition(job, StatusCode.Initiated, "Job executing on the backend", 5e18);
        if (started.kind !== "changed") throw new Error("expected a change");
        const expected = { statusCode: job.statusCode, cancelled: false };
        expect(await storage.jobs.applyStatus(job.id, expected, started.status)).toBe(true);
        // A second writer that read the same status is refused.
        expect(await storage.jobs.applyStatus(job.id, expected, started.status)).toBe(false);
        const [stored] = await storage.jobs.forRaps([job.rapId], ["test"]);
        expect(stored).toMatchObject({
          state: State.Running,
          statusCode: StatusCode.Initiated,
          startedAt: 5e9,
        });
        // A cancel in between: a write that read the job uncancelled is refused, and `cancelled` is never written.
        expect(await storage.jobs.markCancelled(job.rapId, [job.action], ["test"], cancelRequest(77))).toBe(
          1,
        );
        const next = { statusCode: StatusCode.Initiated, cancelled: false };
        expect(
          await storage.jobs.applyStatus(job.id, next, { ...stored!, statusCode: StatusCode.Executing }),
        ).toBe(false);
        // Read again, the job is cancelled: that write goes through, keeping the completion time the cancel set.
        const [again] = await storage.jobs.forRaps([job.rapId], ["test"]);
        const cancelled = transition(again!, StatusCode.CancelledByUser, "Cancelled by user", 6e18);
        if (cancelled.kind !== "changed") throw new Error("expected a change");
        expect(await storage.jobs.applyStatus(job.id, { ...next, cancelled: true }, cancelled.status)).toBe(
          true,
        );
        expect((await storage.jobs.forRaps([job.rapId], ["test"]))[0]).toMatchObject({
          cancelled: true,
          completedAt: 77,
          state: State.Failed,
        });
      }),
    );

    test(
      "a task id is taken once: a job cannot be started twice",
      withStorage(async (storage) => {
        const job = makeJob();
        await storage.jobs.insert([job]);
        const task = {
          id: runJobTaskId(job.id, 1),
          backend: "test",
          type: TaskType.RunJob,
          jobId: job.id,
          definition: { id: job.id },
          attributes: { user: "u" },
          createdAt: 10,
        };
        await storage.tasks.insert(task);
        await expect(storage.tasks.insert(task)).rejects.toThrow();
        expect((await storage.tasks.activeText("test")).map((t) => t.id)).toEqual([task.id]);
      }),
    );

    test(
      "applyStatuses writes many jobs' statuses and the tasks of those started at once; a job that moved meanwhile keeps its own, with no task",
      withStorage(async (storage) => {
        const rap = rapId();
        const jobs = ["c", "a", "b"].map((action) => makeJob({ rapId: rap, action }));
        await storage.jobs.insert(jobs);
        // A cancel between the pass's read and its write: that job's start is refused.
        await storage.jobs.markCancelled(rap, ["a"], ["test"], cancelRequest(77));
        const expected = { statusCode: StatusCode.Created, cancelled: false };
        const starts = jobs.map((job, n) => {
          const started = transition(job, StatusCode.Initiated, "Job executing on the backend", 5e18 + n);
          if (started.kind !== "changed") throw new Error("expected a change");
          const task = {
            id: runJobTaskId(job.id, 1),
            backend: "test",
            type: TaskType.RunJob,
            jobId: job.id,
            definition: { action: job.action, note: "caf\u00e9" },
            attributes: { user: "u" },
            createdAt: 10,
          };
          return { jobId: job.id, expected, status: started.status, task };
        });
        expect(await storage.jobs.applyStatuses([])).toEqual(new Set());
        expect(await storage.jobs.applyStatuses(starts)).toEqual(new Set([jobs[0]!.id, jobs[2]!.id]));
        const stored = new Map((await storage.jobs.forRaps([rap], ["test"])).map((job) => [job.action, job]));
        for (const [action, n] of [
          ["c", 0],
          ["b", 2],
        ] as const)
          expect(stored.get(action)).toMatchObject({
            state: State.Running,
            statusCode: StatusCode.Initiated,
            statusMessage: "Job executing on the backend",
            startedAt: 5e9,
            statusCodeUpdatedAt: starts[n]!.status.statusCodeUpdatedAt,
          });
        expect(stored.get("a")).toMatchObject({ state: State.Pending, statusCode: StatusCode.Created });
        // The started jobs' tasks, in the order given, as the Task API serves them; none for the refused job.
        const active = await storage.tasks.activeText("test");
        expect(active.map((task) => task.id)).toEqual([starts[0]!.task.id, starts[2]!.task.id]);
        expect(active[0]!.definition).toBe('{"action":"c","note":"caf\\u00e9"}');
        expect(await storage.tasks.get(starts[1]!.task.id)).toBeUndefined();
        expect(await storage.tasks.get(starts[2]!.task.id)).toMatchObject({
          jobId: jobs[2]!.id,
          active: true,
          agentComplete: false,
          attributes: { user: "u" },
        });
        // Started again with the same expectation: nothing is written, and no task id is taken twice.
        expect(await storage.jobs.applyStatuses(starts)).toEqual(new Set());
        expect(await storage.tasks.activeText("test")).toHaveLength(2);
        // A status write with no task (a job left waiting): written, and no task inserted.
        const waiting = makeJob({ rapId: rap, action: "d" });
        await storage.jobs.insert([waiting]);
        const wait = transition(waiting, StatusCode.WaitingOnWorkers, "Waiting on available workers", 7e18);
        if (wait.kind !== "changed") throw new Error("expected a change");
        expect(
          await storage.jobs.applyStatuses([{ jobId: waiting.id, expected, status: wait.status }]),
        ).toEqual(new Set([waiting.id]));
        expect(await storage.jobs.get(waiting.id)).toMatchObject({
          state: State.Pending,
          statusCode: StatusCode.WaitingOnWorkers,
          statusMessage: "Waiting on available workers",
          updatedAt: 7e9,
        });
        expect(await storage.tasks.activeText("test")).toHaveLength(2);
      }),
    );

    test(
      "a backend's active-task stamp changes with its active tasks, and only with them",
      withStorage(async (storage) => {
        const task = (n: number, backend = "test") => ({
          id: `task${n}`,
          backend,
          type: TaskType.RunJob,
          jobId: null,
          definition: { n },
          attributes: {},
          createdAt: 10,
        });
        const stamps = [await storage.tasks.activeStamp("test")];
        const stamped = async () => {
          stamps.push(await storage.tasks.activeStamp("test"));
          return stamps.at(-1);
        };
        await storage.tasks.insert(task(1));
        await storage.tasks.insert(task(2));
        await stamped();
        const update = { stage: "executing", results: {}, complete: false, timestampNs: null };
        await storage.tasks.recordAgentUpdate("test", "task1", update, 20);
        await storage.tasks.insert(task(3, "other"));
        expect(await storage.tasks.activeStamp("test")).toBe(stamps.at(-1));
        await storage.tasks.deactivate("task2", 30);
        await stamped();
        // One task ends and another starts: the same number of tasks, a different stamp.
        await storage.tasks.recordAgentUpdate("test", "task1", { ...update, complete: true }, 40);
        await storage.tasks.insert(task(4));
        await stamped();
        await storage.tasks.deactivate("task4", null);
        await stamped();
        expect(new Set(stamps.slice(0, -1)).size).toBe(stamps.length - 1);
        // Nothing active again: the same list as with no task at all.
        expect(stamps.at(-1)).toBe(stamps[0]);
      }),
    );

    test(
      "active jobs are counted by backend, state and status code; finished ones are not",
      withStorage(async (storage) => {
        const rap = rapId();
        const job = (action: string, overrides: Parameters<typeof makeJob>[0]) =>
          makeJob({ rapId: rap, action, ...overrides });
        await storage.jobs.insert([
          job("a", {}),
          job("b", {}),
          job("c", { backend: "other" }),
          job("d", { state: State.Running, statusCode: StatusCode.Executing }),
          job("e", { state: State.Succeeded, statusCode: StatusCode.Succeeded }),
          job("f", { state: State.Failed, statusCode: StatusCode.NonzeroExit }),
        ]);
        const counts = await storage.jobs.activeCounts();
        const key = (c: { backend: string; statusCode: string }) => `${c.backend}/${c.statusCode}`;
        expect([...counts].sort((x, y) => key(x).localeCompare(key(y)))).toEqual([
          { backend: "other", state: State.Pending, statusCode: StatusCode.Created, count: 1 },
          { backend: "test", state: State.Pending, statusCode: StatusCode.Created, count: 2 },
          { backend: "test", state: State.Running, statusCode: StatusCode.Executing, count: 1 },
        ]);
      }),
    );

    test(
      "the change feed: a full read of the active jobs and their tasks, then only the jobs and tasks written since",
      withStorage(async (storage) => {
        const rap = rapId();
        const [old, idle, finished] = ["old", "idle", "finished"].map((action) =>
          makeJob({ rapId: rap, action }),
        );
        await storage.jobs.insert([old!, idle!, { ...finished!, state: State.Succeeded }]);
        const task = (job: typeof old, n: number) => makeRunJobTask(job!.id, n);
        await storage.tasks.insert(task(idle, 1));
        await storage.tasks.insert(task(idle, 2));
        const first = await storage.changes.read();
        expect(first.full).toBe(true);
        expect(first.jobs.map(({ job }) => job)).toEqual([old, idle]);
        expect(first.jobs[0]!.seq).toBeLessThan(first.jobs[1]!.seq);
        expect(first.tasks.map((t) => t.id)).toEqual([task(idle, 1).id, task(idle, 2).id]);

        type Row = readonly unknown[];
        // Every version of this test's jobs, as [action, state, cancelled]: all a reread may give again.
        const versions: Row[] = [
          ["old", State.Pending, false],
          ["idle", State.Pending, false],
          ["finished", State.Succeeded, false],
          ["old", State.Running, true],
          ["added", State.Pending, false],
          ["idle", State.Succeeded, false],
        ];
        /** A read's jobs: exactly those expected, or (feedRereads) at least those and others of this test's. */
        const expectJobs = (read: SchedulerChanges, expected: Row[]) => {
          const rows: Row[] = read.jobs.map(({ job }) => [job.action, job.state, job.cancelled]);
          if (!feedRereads) return expect(rows).toEqual(expected);
          expect(rows).toEqual(expect.arrayContaining(expected));
          expect(versions).toEqual(expect.arrayContaining(rows));
        };
        /** A read with no task written since: none, or (feedRereads) only this test's. */
        const expectNoTasks = (read: SchedulerChanges) => {
          const ids = read.tasks.map((t) => t.id);
          if (!feedRereads) return expect(ids).toEqual([]);
          const ours = [task(idle, 1).id, task(idle, 2).id, task(old, 1).id];
          expect(ours).toEqual(expect.arrayContaining(ids));
        };

        // Nothing written: nothing read.
        const quiet = await storage.changes.read(first.mark);
        expect(quiet.full).toBe(false);
        expectJobs(quiet, []);
        expectNoTasks(quiet);
        expect(quiet.mark).toBeGreaterThanOrEqual(first.mark);

        // Every kind of write: a status, a cancel, a new job, an agent's report, a task ended, a finished job.
        const started = transition(old!, StatusCode.Initiated, "Job executing on the backend", 5e18);
        if (started.kind !== "changed") throw new Error("expected a change");
        await storage.jobs.applyStatus(
          old!.id,
          { statusCode: old!.statusCode, cancelled: false },
          started.status,
        );
        await storage.tasks.insert(task(old, 1));
        await storage.jobs.markCancelled(rap, ["old"], ["test"], cancelRequest(77));
        const added = makeJob({ rapId: rap, action: "added" });
        await storage.jobs.insert([added]);
        const update = { stage: "executing", results: {}, complete: false, timestampNs: null };
        expect(await storage.tasks.recordAgentUpdate("test", task(idle, 2).id, update, 9)).toBe(true);
        await storage.tasks.deactivate(task(idle, 1).id, 10);
        const done = transition(idle!, StatusCode.Succeeded, "Completed successfully", 6e18);
        if (done.kind !== "changed") throw new Error("expected a change");
        const later = await storage.changes.read(quiet.mark);
        expect(later.full).toBe(false);
        expectJobs(later, [
          ["old", State.Running, true],
          ["added", State.Pending, false],
        ]);
        // Every task of a job read again, and the tasks written since of the others.
        expect(later.tasks.map((t) => [t.id, t.active, t.agentStage])).toEqual(
          expect.arrayContaining([
            [task(old, 1).id, true, null],
            [task(idle, 1).id, false, null],
            [task(idle, 2).id, true, "executing"],
          ]),
        );
        expect(later.tasks).toHaveLength(3);

        // A job that finished comes once more, so the reader drops it; then nothing again.
        await storage.jobs.applyStatus(
          idle!.id,
          { statusCode: idle!.statusCode, cancelled: false },
          done.status,
        );
        const last = await storage.changes.read(later.mark);
        expectJobs(last, [["idle", State.Succeeded, false]]);
        expectNoTasks(last);
        expectJobs(await storage.changes.read(last.mark), []);
        // A mark from the future (a database restored from a copy) cannot be answered from: a full read.
        const restored = await storage.changes.read(last.mark + 1_000_000);
        expect(restored.full).toBe(true);
        expect(restored.jobs.map(({ job }) => job.action)).toEqual(["old", "added"]);
      }),
    );

    test(
      "jobs come back as inserted, every column, however many are inserted at once",
      withStorage(async (storage) => {
        const rap = rapId();
        const jobs = Array.from({ length: 450 }, (_, n) =>
          makeJob({
            rapId: rap,
            action: `action_${n}`,
            runCommand: `python:v2 "quoted \\ back" é 😀 ${n}`,
            statusMessage: n % 2 ? null : "Created",
            actionRepoUrl: n % 3 ? null : "https://github.com/opensafely/other",
            requiresOutputsFrom: n ? [`action_${n - 1}`] : [],
            outputSpec: { moderately_sensitive: { table: `output/{t}_${n}.csv` } },
            traceContext: n % 2 ? null : { traceparent: "00-ab-cd-01" },
            statusCodeUpdatedAt: 1_765_000_000_123_456_800,
            requiresDb: n === 0,
            analysisScope: { dataset_permissions: ["a", "b"] },
          }),
        );
        await storage.transaction((stores) => stores.jobs.insert(jobs));
        const stored = await storage.jobs.forRaps([rap], ["test"]);
        const byId = new Map(stored.map((job) => [job.id, job]));
        expect(jobs.map((job) => byId.get(job.id))).toEqual(jobs);
      }),
    );

    test(
      "a transaction commits all its writes or none",
      withStorage(async (storage) => {
        const job = makeJob();
        await expect(
          storage.transaction(async (stores) => {
            await stores.jobs.insert([job]);
            throw new Error("abandoned");
          }),
        ).rejects.toThrow("abandoned");
        expect(await storage.jobs.forRaps([job.rapId], ["test"])).toEqual([]);
        await storage.transaction((stores) => stores.jobs.insert([job]));
        expect(await storage.jobs.forRaps([job.rapId], ["test"])).toHaveLength(1);
      }),
    );

    test(
      "an open transaction: a failed step rolls back alone, the commit keeps the others, a rollback none",
      withStorage(async (storage) => {
        const [first, failed, third] = [makeJob(), makeJob(), makeJob()];
        const open = await storage.openTransaction();
        // Fewer than PostgreSQL's 64 subtransaction ids kept in memory (and some).
        expect(open.maxSteps).toBeGreaterThanOrEqual(10);
        expect(open.maxSteps).toBeLessThanOrEqual(name === "PostgreSQL" ? 60 : 1000);
        await open.step((stores) => stores.jobs.insert([first]));
        await expect(
          open.step(async (stores) => {
            await stores.jobs.insert([failed]);
            throw new Error("this step only");
          }),
        ).rejects.toThrow("this step only");
        // A statement the database refuses (the same job again) is undone alone too, on PostgreSQL as on SQLite.
        await expect(open.step((stores) => stores.jobs.insert([first]))).rejects.toThrow();
        expect(await open.step((stores) => stores.jobs.insert([third]).then(() => "returned"))).toBe(
          "returned",
        );
        await open.commit();
        const ids = async (...jobs: ReturnType<typeof makeJob>[]) =>
          (
            await storage.jobs.forRaps(
              jobs.map((job) => job.rapId),
              ["test"],
            )
          )
            .map((job) => job.id)
            .sort();
        expect(await ids(first, failed, third)).toEqual([first.id, third.id].sort());
        await expect(open.step(async () => undefined)).rejects.toThrow("the transaction has ended");

        const abandoned = makeJob();
        const other = await storage.openTransaction();
        await other.step((stores) => stores.jobs.insert([abandoned]));
        await other.rollback();
        expect(await ids(abandoned)).toEqual([]);
        // The connection is free again: an ordinary transaction runs.
        await storage.transaction((stores) => stores.jobs.insert([abandoned]));
        expect(await ids(abandoned)).toEqual([abandoned.id]);
      }),
    );

    test(
      "the workspace lock serialises creates: the second sees the first's jobs",
      withStorage(async (storage) => {
        const seen: number[] = [];
        const create = (action: string) =>
          storage.withWorkspaceLock("test", "workspace", async ({ jobs }) => {
            seen.push((await jobs.workspaceState("test", "workspace")).length);
            await new Promise((resolve) => setTimeout(resolve, 20));
            await jobs.insert([makeJob({ rapId: rapId(), action })]);
          });
        await Promise.all([create("a"), create("b")]);
        expect(seen.sort()).toEqual([0, 1]);
      }),
    );

    test(
      "a backend's tasks of one type: the active ones' ids, and when the last one finished",
      withStorage(async (storage) => {
        const scheduled = (id: string, backend = "test", type: TaskType = TaskType.DbStatus) =>
          storage.tasks.insert({
            id,
            backend,
            type,
            jobId: null,
            definition: {},
            attributes: {},
            createdAt: 1,
          });
        expect(await storage.tasks.lastFinishedOfType("test", TaskType.DbStatus)).toBeNull();
        // One active task of a type per backend at a time (the unique key behind insertScheduled).
        await scheduled("a");
        await storage.tasks.deactivate("a", 50);
        await scheduled("b");
        await storage.tasks.deactivate("b", 20);
        await scheduled("c");
        // Switched off, not finished: no finished_at.
        await storage.tasks.deactivate("c", null);
        await scheduled("d");
        await scheduled("other-backend", "other");
        await scheduled("other-type", "test", TaskType.DbDataCheck);
        await storage.tasks.deactivate("other-backend", 90);
        await storage.tasks.deactivate("other-type", 90);
        expect(await storage.tasks.activeIdsOfType("test", TaskType.DbStatus)).toEqual(["d"]);
        expect(await storage.tasks.lastFinishedOfType("test", TaskType.DbStatus)).toBe(50);
        expect(await storage.tasks.activeIdsOfType("other", TaskType.DbStatus)).toEqual([]);
      }),
    );

    test(
      "a scheduled task is inserted only while its backend has no active one of its type",
      withStorage(async (storage) => {
        const task = (id: string, backend = "test") => ({
          id,
          backend,
          type: TaskType.DbStatus,
          jobId: null,
          definition: {},
          attributes: {},
          createdAt: 1,
        });
        expect(await storage.tasks.insertScheduled(task("first"))).toBe(true);
        expect(await storage.tasks.insertScheduled(task("second"))).toBe(false);
        expect(await storage.tasks.insertScheduled(task("elsewhere", "other"))).toBe(true);
        expect(await storage.tasks.activeIdsOfType("test", TaskType.DbStatus)).toEqual(["first"]);
        await storage.tasks.deactivate("first", 5);
        expect(await storage.tasks.insertScheduled(task("second"))).toBe(true);
      }),
    );

    test(
      "the scheduler lease: one holder until it expires or is released; renewing needs holding",
      withStorage(async (storage) => {
        expect(await storage.lease.acquire("a", 1000, 100)).toEqual({ holder: "a", expiresAtMs: 1100 });
        expect(await storage.lease.acquire("b", 1050, 100)).toEqual({ holder: "a", expiresAtMs: 1100 });
        expect(await storage.lease.renew("b", 1050, 100)).toBe(false);
        expect(await storage.lease.renew("a", 1050, 100)).toBe(true);
        expect(await storage.lease.acquire("b", 1149, 100)).toEqual({ holder: "a", expiresAtMs: 1150 });
        // Expired: the next to ask takes it, and the old holder can no longer renew it.
        expect(await storage.lease.acquire("b", 1150, 100)).toEqual({ holder: "b", expiresAtMs: 1250 });
        expect(await storage.lease.renew("a", 1160, 100)).toBe(false);
        await storage.lease.release("a");
        expect(await storage.lease.acquire("a", 1160, 100)).toEqual({ holder: "b", expiresAtMs: 1250 });
        await storage.lease.release("b");
        expect(await storage.lease.acquire("a", 1160, 100)).toEqual({ holder: "a", expiresAtMs: 1260 });
      }),
    );

    test(
      "handling failures are counted per job until cleared",
      withStorage(async (storage) => {
        expect(await storage.failures.record("j1")).toBe(1);
        expect(await storage.failures.record("j1")).toBe(2);
        expect(await storage.failures.record("j2")).toBe(1);
        expect(await storage.failures.all()).toEqual(
          new Map([
            ["j1", 2],
            ["j2", 1],
          ]),
        );
        await storage.failures.clear(["j1"]);
        expect(await storage.failures.all()).toEqual(new Map([["j2", 1]]));
        expect(await storage.failures.record("j1")).toBe(1);
      }),
    );

    test(
      "flags: the same value keeps its time; clearing keeps the row; all() lists every backend's",
      withStorage(async (storage) => {
        await storage.flags.set("test", "paused", "true", 100.5);
        expect(await storage.flags.set("test", "paused", "true", 200)).toMatchObject({ timestamp: 100.5 });
        expect(await storage.flags.set("test", "paused", null, 300)).toMatchObject({
          value: null,
          timestamp: 300,
        });
        await storage.flags.set("tpp", "mode", "db-maintenance", 400);
        expect((await storage.flags.all()).map((f) => `${f.backend}/${f.id}`).sort()).toEqual([
          "test/paused",
          "tpp/mode",
        ]);
      }),
    );

    test(
      "the status reader writes each job's 15 keys in the reference's order, byte for byte, by rap id then insertion",
      withStorage(async (storage) => {
        const T = 1_700_000_000;
        const job = (rap: string, action: string, overrides: Parameters<typeof makeJob>[0] = {}) =>
          makeJob({ rapId: rap, action, createdAt: T, updatedAt: T + 1, traceContext: null, ...overrides });
        const late = job("rapbbbbbbbbbbbbb", "zeta", { statusMessage: null, requiresDb: true });
        const early = job("rapaaaaaaaaaaaaa", "one", {
          statusMessage: 'Ran "fine" é',
          startedAt: T + 2,
          completedAt: T + 3,
          traceContext: { traceparent: "00-ab-cd-01" },
        });
        const alpha = job("rapbbbbbbbbbbbbb", "alpha");
        const elsewhere = job("rapbbbbbbbbbbbbb", "other", { backend: "tpp" });
        await storage.jobs.insert([late, early, alpha, elsewhere]);
        const task = runJobTaskId(early.id, 1);
        await storage.tasks.insert({
          id: task,
          backend: "test",
          type: TaskType.RunJob,
          jobId: early.id,
          definition: {},
          attributes: {},
          createdAt: T,
        });
        const results = { job_metrics: { cpu_peak: 12.5, name: "ü" }, exit_code: 0 };
        const update = { stage: "finalized", results, complete: true, timestampNs: null };
        await storage.tasks.recordAgentUpdate("test", task, update, T);

        const parts = await storage.status.read(
          ["rapaaaaaaaaaaaaa", "rapbbbbbbbbbbbbb", "rapcccccccccccc"],
          ["test"],
        );
        expect(parts.flatMap((part) => part.rapIds)).toEqual(["rapaaaaaaaaaaaaa", "rapbbbbbbbbbbbbb"]);
        const times = (started: string, completed: string) =>
          `"created_at":"2023-11-14T22:13:20Z","updated_at":"2023-11-14T22:13:21Z","started_at":${started},"completed_at":${completed}`;
        const head = (j: typeof late, message: string) =>
          `{"identifier":"${j.id}","rap_id":"${j.rapId}","backend":"test","action":"${j.action}",` +
          `"run_command":"python:v2 myscript.py","status":"pending","status_code":"created","status_message":${message},`;
        expect(
          parts
            .map((part) => Buffer.from(part.json).toString("latin1"))
            .filter((json) => json !== "")
            .join(","),
        ).toBe(
          `${head(early, '"Ran \\"fine\\" \\u00e9"')}${times('"2023-11-14T22:13:22Z"', '"2023-11-14T22:13:23Z"')},` +
            `"trace_context":{"traceparent":"00-ab-cd-01"},"metrics":{"cpu_peak":12.5,"name":"\\u00fc"},"requires_db":false},` +
            `${head(late, '""')}${times("null", "null")},"trace_context":null,"metrics":{},"requires_db":true},` +
            `${head(alpha, '"Created"')}${times("null", "null")},"trace_context":null,"metrics":{},"requires_db":false}`,
        );
      }),
    );
  });
}
