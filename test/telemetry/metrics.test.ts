/**
 * `/metrics` as an operator meets it: a RAP created over HTTP, run by the scheduler and a test agent, then the
 * Prometheus text scraped with an operator token and read as a scraper would (test/support/prometheus.ts).
 */
import { afterEach, describe, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { parsePrometheus } from "../support/prometheus.js";
import { type System, startSystem } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";

const OPERATOR = "operator-secret";

let system: System | undefined;
afterEach(async () => {
  await system?.close();
  system = undefined;
});

async function scrape(s: System, authorization?: string) {
  const response = await fetch(`${s.url}/metrics`, authorization ? { headers: { authorization } } : {});
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

async function metrics(s: System) {
  const answer = await scrape(s, `Bearer ${OPERATOR}`);
  expect(answer.status, answer.text).toBe(200);
  return parsePrometheus(answer.text);
}

const FIGURES = JSON.stringify({
  running_jobs: 1,
  runtime_errors: 3,
  storage_free_bytes: { high_privacy: 1_000_000, medium_privacy: 2_000_000 },
});

describe("GET /metrics", () => {
  test("after a scripted run, the counters, histograms and gauges moved as they should", async () => {
    system = await startSystem({ OPERATOR_TOKENS: OPERATOR });
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    const taskId = `${deterministicJobId(rap, "action1")}-001`;

    let m = await metrics(system);
    expect(m.value("rap_jobs", { backend: "test", state: "pending", status_code: "created" })).toBe(1);
    expect(m.value("rap_git_fetch_duration_seconds_count", { outcome: "ok" })).toBeGreaterThanOrEqual(1);
    expect(
      m.value("rap_http_request_duration_seconds_count", {
        route: "/controller/v1/rap/create/",
        method: "POST",
        status: "201",
      }),
    ).toBe(1);
    // Nothing polled yet: no age, and no agent figures.
    expect(m.value("rap_agent_last_seen_age_seconds", { backend: "test" })).toBeUndefined();
    expect(m.value("rap_agent_running_jobs", { backend: "test" })).toBeUndefined();

    await system.tick();
    const agent = system.agent();
    expect((await agent.tasks(FIGURES)).map((t) => t.id)).toEqual([taskId]);
    system.clock.advance(5_000);
    m = await metrics(system);
    expect(m.value("rap_jobs_started_total", { backend: "test" })).toBe(1);
    expect(m.value("rap_jobs", { backend: "test", state: "running", status_code: "initiated" })).toBe(1);
    expect(m.value("rap_jobs", { backend: "test", state: "pending" })).toBeUndefined();
    expect(m.value("rap_tasks_served_total", { backend: "test" })).toBe(1);
    expect(m.value("rap_agent_last_seen_age_seconds", { backend: "test" })).toBe(5);
    expect(m.value("rap_agent_report_age_seconds", { backend: "test" })).toBe(5);
    expect(m.value("rap_agent_running_jobs", { backend: "test" })).toBe(1);
    expect(m.value("rap_agent_runtime_errors_total", { backend: "test" })).toBe(3);
    expect(m.types.get("rap_agent_runtime_errors_total")).toBe("counter");
    expect(m.value("rap_agent_storage_free_bytes", { backend: "test", storage: "high_privacy" })).toBe(1e6);
    expect(m.value("rap_agent_storage_free_bytes", { backend: "test", storage: "medium_privacy" })).toBe(2e6);

    expect((await agent.update(taskId, "executing")).status).toBe(200);
    await system.tick();
    expect((await agent.finish(taskId, finishedResults({ exit_code: "0" }))).status).toBe(200);
    // A late repeat of an earlier stage, a malformed update and one for a task that does not exist.
    expect((await agent.update(taskId, "executing")).status).toBe(200);
    expect((await agent.update("", "executing")).status).toBe(400);
    expect((await agent.update("no-such-task", "executing")).status).toBe(404);
    await system.tick();

    m = await metrics(system);
    expect(m.value("rap_jobs_finished_total", { backend: "test", outcome: "succeeded" })).toBe(1);
    expect(m.value("rap_jobs", { backend: "test" })).toBeUndefined();
    expect(m.value("rap_task_updates_total", { backend: "test", result: "accepted" })).toBe(2);
    expect(m.value("rap_task_updates_total", { backend: "test", result: "stale" })).toBe(1);
    expect(m.value("rap_task_updates_total", { backend: "test", result: "invalid" })).toBe(1);
    expect(m.value("rap_task_updates_total", { backend: "test", result: "unknown_task" })).toBe(1);
    expect(m.value("rap_scheduler_pass_duration_seconds_count")).toBe(3);
    expect(m.types.get("rap_scheduler_pass_duration_seconds")).toBe("histogram");
    expect(m.value("rap_scheduler_passes_failed_total")).toBe(0);
    // Durations are kept by route pattern, never by URL: one series for every backend's task updates.
    const routes = new Set(
      m.samples
        .filter((s) => s.name === "rap_http_request_duration_seconds_count")
        .map((s) => s.labels.route),
    );
    expect([...routes].sort()).toEqual([
      "/:backend/task/update/",
      "/:backend/tasks/",
      "/controller/v1/rap/create/",
      "/metrics",
    ]);
    // Bounded labels: no job id, RAP id or workspace anywhere in the text.
    const text = (await scrape(system, OPERATOR)).text;
    for (const value of [rap, taskId, deterministicJobId(rap, "action1"), 'workspace"'])
      expect(text).not.toContain(value);
  });

  test("a malformed figures header is ignored: the agent still gets its tasks, nothing is exported", async () => {
    system = await startSystem({ OPERATOR_TOKENS: OPERATOR });
    const agent = system.agent();
    for (const figures of [
      "not json",
      JSON.stringify({ running_jobs: -1, runtime_errors: 0 }),
      JSON.stringify({ running_jobs: 1, runtime_errors: 0, job_id: "x" }),
      JSON.stringify({ running_jobs: 1, runtime_errors: 0, storage_free_bytes: { "/etc": 5 } }),
      '{"running_jobs": 1e400, "runtime_errors": 0}',
    ])
      expect(await agent.tasks(figures)).toEqual([]);
    const m = await metrics(system);
    expect(m.value("rap_tasks_served_total", { backend: "test" })).toBe(0);
    expect(m.value("rap_agent_running_jobs", { backend: "test" })).toBeUndefined();
  });

  test("401 without an operator token or with a wrong one, client and agent tokens included", async () => {
    system = await startSystem({ OPERATOR_TOKENS: OPERATOR });
    const none = await scrape(system);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text)).toEqual({ error: "Unauthorized", details: "No token provided" });
    for (const token of ["wrong", "test_token", "agent_token", `Bearer ${OPERATOR}x`]) {
      const answer = await scrape(system, token);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.text)).toEqual({ error: "Unauthorized", details: "Invalid token" });
    }
    const ok = await scrape(system, OPERATOR);
    expect(ok.status).toBe(200);
    expect(ok.type).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  test("404 when no operator token is configured", async () => {
    system = await startSystem();
    const answer = await scrape(system, OPERATOR);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.text)).toEqual({ error: "Not found", details: "No endpoint GET /metrics" });
  });
});
