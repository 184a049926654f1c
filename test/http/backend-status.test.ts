/**
 * Group B of reference/scenarios.md: `GET backend/status/`. Flags are set with setFlag, as the operator commands
 * do; `last-seen-at`, which the agent's task polls set, is seeded the same way until the Task API exists.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { setFlag } from "../../src/db/queries/flags.js";
import { startApi, type TestApi } from "./support.js";

/** The reference test's setup (test_backends_status_view): the token sees test_backend only. */
const ENV = {
  BACKENDS: "test_backend,test_other_backend",
  TEST_BACKEND_CLIENT_TOKENS: "test_token",
  TEST_OTHER_BACKEND_CLIENT_TOKENS: "other_token",
};
const T = 1754998245.123456;
const T_ISO = "2025-08-12T11:30:45.123456Z";
const OFF = { status: "off", since: null };
const MAINTENANCE_OFF = { status: "off", since: null, type: null };

let api: TestApi;
beforeEach(async () => {
  api = await startApi(ENV);
  // Every case of the reference test also sets an unrelated flag on the other backend; it must never show.
  await setFlag(api.db, "test_other_backend", "foo", "bar", T);
  await setFlag(api.db, "test_other_backend", "paused", "true", T);
});
afterEach(async () => {
  await api.close();
});

async function status(): Promise<unknown> {
  const answer = await api.get("/backend/status/");
  expect(answer.status).toBe(200);
  return (answer.json as { backends: unknown[] }).backends;
}

const flag = (id: string, value: string | null, timestamp = T) =>
  setFlag(api.db, "test_backend", id, value, timestamp);

describe("backend status", () => {
  test("S016: backends with no flags have nulls and offs, in BACKENDS order", async () => {
    const other = await startApi({
      BACKENDS: "test,foo",
      TEST_CLIENT_TOKENS: "test_token",
      FOO_CLIENT_TOKENS: "test_token",
    });
    try {
      const answer = await other.get("/backend/status/");
      expect(answer.status).toBe(200);
      expect(answer.body).toBe(
        '{"backends":[{"slug":"test","last_seen":null,"paused":{"status":"off","since":null},"db_maintenance":{"status":"off","since":null,"type":null}},' +
          '{"slug":"foo","last_seen":null,"paused":{"status":"off","since":null},"db_maintenance":{"status":"off","since":null,"type":null}}]}',
      );
    } finally {
      await other.close();
    }
  });

  test("S017: last_seen is when the agent last polled (seeded: flag last-seen-at, as the Task API will set it)", async () => {
    await flag("last-seen-at", "2025-08-12T11:30:45.123456+00:00");
    expect(await status()).toEqual([
      { slug: "test_backend", last_seen: T_ISO, paused: OFF, db_maintenance: MAINTENANCE_OFF },
    ]);
  });

  test("S018: paused", async () => {
    await flag("paused", "true");
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: { status: "on", since: T_ISO },
        db_maintenance: MAINTENANCE_OFF,
      },
    ]);
  });

  test("S019: a paused flag that is not 'true' is off, but has a since", async () => {
    await flag("paused", null);
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: { status: "off", since: T_ISO },
        db_maintenance: MAINTENANCE_OFF,
      },
    ]);
  });

  test("S020: scheduled database maintenance", async () => {
    await flag("mode", "db-maintenance");
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: OFF,
        db_maintenance: { status: "on", since: T_ISO, type: "scheduled" },
      },
    ]);
  });

  test("S021: manual database maintenance", async () => {
    await flag("mode", "db-maintenance");
    await flag("manual-db-maintenance", "on");
    await flag("db-maintenance-checks-disabled", null);
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: OFF,
        db_maintenance: { status: "on", since: T_ISO, type: "manual" },
      },
    ]);
  });

  test("S022: maintenance that has ended is off, with a since and no type", async () => {
    await flag("mode", "db-maintenance", T - 100);
    await flag("manual-db-maintenance", "on", T - 100);
    await flag("mode", null);
    await flag("manual-db-maintenance", null);
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: OFF,
        db_maintenance: { status: "off", since: T_ISO, type: null },
      },
    ]);
  });

  test("S023: other backends' flags and unknown flags never show", async () => {
    await flag("foo", "bar");
    expect(await status()).toEqual([
      { slug: "test_backend", last_seen: null, paused: OFF, db_maintenance: MAINTENANCE_OFF },
    ]);
    const other = (await api.get("/backend/status/", { authorization: "other_token" })).json;
    expect(other).toEqual({
      backends: [
        {
          slug: "test_other_backend",
          last_seen: null,
          paused: { status: "on", since: T_ISO },
          db_maintenance: MAINTENANCE_OFF,
        },
      ],
    });
  });

  test("S024: the body is compact JSON", async () => {
    await flag("paused", "true");
    const { body } = await api.get("/backend/status/");
    expect(body).not.toMatch(/[:,] /);
    expect(body).toBe(
      `{"backends":[{"slug":"test_backend","last_seen":null,"paused":{"status":"on","since":"${T_ISO}"},"db_maintenance":{"status":"off","since":null,"type":null}}]}`,
    );
  });

  test("S025: mode set to '' (a DBSTATUS result saying no maintenance) is off, with a since", async () => {
    await flag("mode", "");
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: OFF,
        db_maintenance: { status: "off", since: T_ISO, type: null },
      },
    ]);
  });

  test("S026: the manual flag alone does not turn maintenance on", async () => {
    await flag("manual-db-maintenance", "on");
    expect(await status()).toEqual([
      { slug: "test_backend", last_seen: null, paused: OFF, db_maintenance: MAINTENANCE_OFF },
    ]);
  });

  test("S027: only the exact value 'true' is reported as paused", async () => {
    await flag("paused", "True");
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: { status: "off", since: T_ISO },
        db_maintenance: MAINTENANCE_OFF,
      },
    ]);
  });

  test("S028: setting a flag to the value it has keeps its since", async () => {
    await flag("paused", "true", T);
    await flag("paused", "true", T + 60);
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: { status: "on", since: T_ISO },
        db_maintenance: MAINTENANCE_OFF,
      },
    ]);
  });

  test("S029: every agent poll moves last_seen (seeded: two last-seen-at values, as two polls set them)", async () => {
    await flag("last-seen-at", "2025-08-12T11:30:45.123456+00:00", T);
    await flag("last-seen-at", "2025-08-12T11:31:40.500000+00:00", 1754998300.5);
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: "2025-08-12T11:31:40.500000Z",
        paused: OFF,
        db_maintenance: MAINTENANCE_OFF,
      },
    ]);
  });

  test("a whole-second flag time prints without a fraction, as Python's isoformat does", async () => {
    await flag("paused", "true", 1754998400);
    expect(await status()).toEqual([
      {
        slug: "test_backend",
        last_seen: null,
        paused: { status: "on", since: "2025-08-12T11:33:20Z" },
        db_maintenance: MAINTENANCE_OFF,
      },
    ]);
  });

  test("answers are kept only until a flag changes, through this connection or another process's", async () => {
    expect(await status()).toEqual([
      { slug: "test_backend", last_seen: null, paused: OFF, db_maintenance: MAINTENANCE_OFF },
    ]);
    await flag("paused", "true");
    expect(await status()).toMatchObject([{ paused: { status: "on", since: T_ISO } }]);

    // A second connection to the same database stands for `rap pause` run as another process.
    const other = await api.database.openAnother();
    try {
      await other.flags.set("test_backend", "paused", "false", T + 1);
    } finally {
      await other.close();
    }
    expect(await status()).toMatchObject([{ paused: { status: "off" } }]);
  });
});
