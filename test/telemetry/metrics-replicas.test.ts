/**
 * Two controllers on one PostgreSQL database (DESIGN DECISIONS 17): each exports its own per-process counters, and
 * both the same database gauges (docs/metrics.md, "Per process, or from the database").
 */
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { type Controller, openController } from "../../src/app/controller.js";
import { loadConfig } from "../../src/config/index.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { createTestPostgres, postgresRequirement } from "../support/postgres.js";
import { parsePrometheus } from "../support/prometheus.js";
import { requires } from "../support/requirements.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";

const ok = requires(postgresRequirement());
const OPERATOR = "operator-secret";

describe.skipIf(!ok)("metrics with two replicas", () => {
  let system: System | undefined;
  let second: Controller | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await second?.close();
    await system?.close();
    await drop?.();
  });

  test("per-process counters differ, database gauges agree", async () => {
    const postgres = await createTestPostgres();
    drop = postgres.drop;
    const env = { OPERATOR_TOKENS: OPERATOR, DATABASE_URL: postgres.url };
    system = await startSystem(env);
    second = await openController(loadConfig({ ...SYSTEM_ENV, ...env, WORKDIR: system.workdir, PORT: "1" }), {
      clock: system.clock,
      log: pino({ level: "silent" }),
      statusWorkers: 0,
    });
    await second.app.listen({ host: "127.0.0.1", port: 0 });
    const secondUrl = `http://127.0.0.1:${(second.app.server.address() as { port: number }).port}`;

    // The RAP is created through the first replica only.
    await createRap(system, await studyRepo(FX_ACT), ["action1", "action2"]);
    const scrape = async (url: string) => {
      const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${OPERATOR}` } });
      return parsePrometheus(await response.text());
    };
    const [first, other] = [await scrape(system.url), await scrape(secondUrl)];
    const pending = { backend: "test", state: "pending", status_code: "created" };
    expect(first.value("rap_jobs", pending)).toBe(2);
    expect(other.value("rap_jobs", pending)).toBe(2);
    const create = { route: "/controller/v1/rap/create/", method: "POST", status: "201" };
    expect(first.value("rap_http_request_duration_seconds_count", create)).toBe(1);
    expect(other.value("rap_http_request_duration_seconds_count", create)).toBeUndefined();
    expect(first.value("rap_git_fetch_duration_seconds_count", { outcome: "ok" })).toBeGreaterThanOrEqual(1);
    expect(other.value("rap_git_fetch_duration_seconds_count", { outcome: "ok" })).toBeUndefined();
  });
});
