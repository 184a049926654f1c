import { describe, expect, test } from "vitest";
import { ConfigError, configWarnings, describeDatabase, loadConfig } from "../../src/config/index.js";

describe("loadConfig", () => {
  test("reference defaults", () => {
    const config = loadConfig({}, "/srv/rap");
    expect(config.backends).toEqual(["test", "tpp", "emis", "ted"]);
    expect(config.backend.test).toMatchObject({ maxWorkers: 2, maxDbWorkers: 2, jobServerToken: "token" });
    expect(config.backend.tpp).toMatchObject({ maxWorkers: 10, maxDbWorkers: 10 });
    expect(config.workdir).toBe("/srv/rap/workdir");
    expect(config.database).toEqual({ dialect: "sqlite", path: "/srv/rap/workdir/db.sqlite" });
    expect(config.port).toBe(8000);
    expect(config.allowLocalGitRepos).toBe(false);
    expect(config.allowedGithubOrgs).toEqual(["opensafely", "opensafely-actions"]);
    expect(config.githubProxyDomain).toBe("github-proxy.opensafely.org");
  });

  test("client tokens map to their backends in BACKENDS order (S008)", () => {
    const config = loadConfig({
      BACKENDS: "test, foo",
      FOO_CLIENT_TOKENS: "test_token,other",
      TEST_CLIENT_TOKENS: "test_token",
      BAR_CLIENT_TOKENS: "ignored",
    });
    expect(config.clientTokens.get("test_token")).toEqual(["test", "foo"]);
    expect(config.clientTokens.get("other")).toEqual(["foo"]);
    expect(config.clientTokens.has("ignored")).toBe(false);
  });

  test("per-backend worker limits; MAX_DB_WORKERS defaults to MAX_WORKERS; empty means default", () => {
    const config = loadConfig({
      BACKENDS: "tpp,test",
      TPP_MAX_WORKERS: "15",
      TPP_MAX_DB_WORKERS: "6",
      TEST_MAX_WORKERS: "",
    });
    expect(config.backend.tpp).toMatchObject({ maxWorkers: 15, maxDbWorkers: 6 });
    expect(config.backend.test).toMatchObject({ maxWorkers: 2, maxDbWorkers: 2 });
    expect(loadConfig({ BACKENDS: "tpp", TPP_MAX_WORKERS: "4" }).backend.tpp!.maxDbWorkers).toBe(4);
  });

  test.each([
    [
      { TEST_MAX_WORKERS: "two" },
      "Invalid configuration: TEST_MAX_WORKERS must be a whole number of 0 or more, got 'two'",
    ],
    [
      { TPP_MAX_DB_WORKERS: "-1" },
      "Invalid configuration: TPP_MAX_DB_WORKERS must be a whole number of 0 or more, got '-1'",
    ],
    [{ PORT: "99999" }, "Invalid configuration: PORT must be a TCP port between 1 and 65535, got '99999'"],
    [{ BACKENDS: " , " }, "Invalid configuration: BACKENDS must name at least one backend"],
    [
      { BACKENDS: "test,Te st" },
      "Invalid configuration: BACKENDS has an invalid backend name 'te st' (use letters, digits, - and _)",
    ],
    [{ BACKENDS: "test,test" }, "Invalid configuration: BACKENDS lists a backend twice"],
    [{ DATABASE_URL: "mysql://x" }, "Invalid configuration: DATABASE_URL must look like sqlite:PATH"],
  ])("bad value %j fails naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test("DATABASE_URL sqlite paths are resolved against WORKDIR", () => {
    expect(loadConfig({ WORKDIR: "/w", DATABASE_URL: "sqlite:rap.db" }).database).toEqual({
      dialect: "sqlite",
      path: "/w/rap.db",
    });
    expect(loadConfig({ WORKDIR: "/w", DATABASE_URL: "sqlite:///var/rap.db" }).database).toEqual({
      dialect: "sqlite",
      path: "/var/rap.db",
    });
  });

  test("DATABASE_URL may name a PostgreSQL server, shown without its password", () => {
    for (const url of ["postgres://rap:secret@db:5432/rap", "postgresql://rap:secret@db:5432/rap"]) {
      const { database } = loadConfig({ DATABASE_URL: url });
      expect(database).toEqual({
        dialect: "postgres",
        url,
        poolSize: 10,
        statementTimeoutMs: 30_000,
        idleInTransactionTimeoutMs: 3000,
      });
      expect(describeDatabase(database)).toBe(url.replace("secret", "***"));
    }
  });

  test("PostgreSQL's pool size and statement timeout are settings; a pool needs a connection", () => {
    const env = {
      DATABASE_URL: "postgres://db/rap",
      DATABASE_POOL_SIZE: "4",
      DATABASE_STATEMENT_TIMEOUT_MS: "0",
    };
    expect(loadConfig(env).database).toMatchObject({ poolSize: 4, statementTimeoutMs: 0 });
    // A transaction left idle is ended after the scheduler lease's time (a holder cut off mid-pass frees the lease).
    expect(loadConfig({ ...env, SCHEDULER_LEASE_TTL: "1.5" }).database).toMatchObject({
      idleInTransactionTimeoutMs: 1500,
    });
    expect(() => loadConfig({ ...env, DATABASE_POOL_SIZE: "0" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, DATABASE_POOL_SIZE: "0" })).toThrow("DATABASE_POOL_SIZE");
  });

  test("ALLOW_LOCAL_GIT_REPOS is enabled only by the string true, in any case", () => {
    expect(loadConfig({ ALLOW_LOCAL_GIT_REPOS: "True" }).allowLocalGitRepos).toBe(true);
    expect(loadConfig({ ALLOW_LOCAL_GIT_REPOS: "1" }).allowLocalGitRepos).toBe(false);
  });

  test("TICK_POLL_INTERVAL: seconds between TICK spans, 30 by default, at least 2 (as the reference)", () => {
    expect(loadConfig({}).scheduler.tickPollIntervalMs).toBe(30_000);
    expect(loadConfig({ TICK_POLL_INTERVAL: "5" }).scheduler.tickPollIntervalMs).toBe(5_000);
    expect(loadConfig({ TICK_POLL_INTERVAL: "0.5" }).scheduler.tickPollIntervalMs).toBe(2_000);
  });

  test("OPERATOR_TOKENS: comma-separated, none by default, never a client or agent token", () => {
    expect(loadConfig({}).operatorTokens).toEqual([]);
    expect(loadConfig({ OPERATOR_TOKENS: " op-1, ,op-2 " }).operatorTokens).toEqual(["op-1", "op-2"]);
    const client = () =>
      loadConfig({ BACKENDS: "test", TEST_CLIENT_TOKENS: "c,s3cret", OPERATOR_TOKENS: "s3cret" });
    expect(client).toThrow(
      "Invalid configuration: OPERATOR_TOKENS has a token that is also in TEST_CLIENT_TOKENS",
    );
    const agent = () =>
      loadConfig({ BACKENDS: "test", TEST_JOB_SERVER_TOKEN: "s3cret", OPERATOR_TOKENS: "s3cret" });
    expect(agent).toThrow(
      "Invalid configuration: OPERATOR_TOKENS has a token that is also TEST_JOB_SERVER_TOKEN",
    );
    expect(agent).not.toThrow(/s3cret/);
  });

  test("a client token that is also an agent token is refused, naming both settings but not the token", () => {
    const load = () =>
      loadConfig({
        BACKENDS: "test,tpp",
        TEST_CLIENT_TOKENS: "ok,s3cret-shared",
        TEST_JOB_SERVER_TOKEN: "agent-a",
        TPP_JOB_SERVER_TOKEN: "s3cret-shared",
      });
    expect(load).toThrow(
      "Invalid configuration: TEST_CLIENT_TOKENS has a token that is also TPP_JOB_SERVER_TOKEN: a RAP API client and an agent need different tokens",
    );
    expect(load).not.toThrow(/s3cret/);
  });

  test("a client token equal to the unset agent token's default starts (the reference's S165 set-up), with a warning", () => {
    const config = loadConfig({ BACKENDS: "test,test1", TEST_CLIENT_TOKENS: "token" });
    expect(configWarnings(config)).toContain(
      "TEST_JOB_SERVER_TOKEN is not set: the agent token for 'test' is the insecure default, which is also a RAP API client token",
    );
  });

  test("two backends sharing one agent token is refused, naming both settings; unset defaults are only warned about", () => {
    const load = () =>
      loadConfig({ BACKENDS: "test,tpp", TEST_JOB_SERVER_TOKEN: "s3cret", TPP_JOB_SERVER_TOKEN: "s3cret" });
    expect(load).toThrow(
      "Invalid configuration: TPP_JOB_SERVER_TOKEN is the same token as TEST_JOB_SERVER_TOKEN: each backend's agent needs its own",
    );
    expect(load).not.toThrow(/s3cret/);
    expect(() => loadConfig({ BACKENDS: "test,tpp", TEST_JOB_SERVER_TOKEN: "token" })).toThrow(
      "TPP_JOB_SERVER_TOKEN is the same token as TEST_JOB_SERVER_TOKEN",
    );
    expect(loadConfig({ BACKENDS: "test,tpp" }).backends).toEqual(["test", "tpp"]);
  });

  test("the config is frozen", () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.backend.test)).toBe(true);
  });

  test("warnings name variables but never contain a token", () => {
    const warnings = configWarnings(
      loadConfig({
        BACKENDS: "test,tpp",
        TEST_CLIENT_TOKENS: "s3cret",
        TPP_JOB_SERVER_TOKEN: "agent-s3cret",
      }),
    );
    expect(warnings).toEqual([
      "TEST_JOB_SERVER_TOKEN is not set: the agent token for 'test' is the insecure default",
      "TPP_CLIENT_TOKENS is not set: no RAP API client can see backend 'tpp'",
    ]);
    expect(warnings.join("\n")).not.toMatch(/s3cret/);
  });
});

describe("telemetry settings", () => {
  test("off by default; the service is named as in the reference", () => {
    expect(loadConfig({}).telemetry).toEqual({ serviceName: "jobrunner", otlp: null, console: false });
    expect(loadConfig({ OTEL_SERVICE_NAME: "rap-controller" }).telemetry.serviceName).toBe("rap-controller");
  });

  test("OTEL_EXPORTER_OTLP_HEADERS turns on OTLP export to Honeycomb unless an endpoint is given", () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=abc" }).telemetry.otlp).toEqual({
      tracesUrl: "https://api.honeycomb.io/v1/traces",
      headers: { "x-honeycomb-team": "abc" },
    });
    const local = loadConfig({
      OTEL_EXPORTER_OTLP_HEADERS: "",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/",
    }).telemetry.otlp;
    expect(local).toEqual({ tracesUrl: "http://127.0.0.1:4318/v1/traces", headers: {} });
  });

  test("surrounding quotes are stripped; several headers; percent-encoded values", () => {
    for (const raw of ['"a=1,B=x%20y"', "'a=1, B=x%20y'", " a=1,B=x%20y, "]) {
      expect(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: raw }).telemetry.otlp?.headers).toEqual({
        a: "1",
        b: "x y",
      });
    }
  });

  test("malformed headers and endpoints fail naming the variable, never quoting a header's value", () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: "s3cret-without-a-name" })).toThrow(
      new ConfigError("OTEL_EXPORTER_OTLP_HEADERS", "must be a list of name=value pairs separated by commas"),
    );
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: "key=%zz-s3cret" })).toThrow(
      "Invalid configuration: OTEL_EXPORTER_OTLP_HEADERS has a badly percent-encoded value for 'key'",
    );
    expect(() =>
      loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: "a=1", OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://collector" }),
    ).toThrow(
      "Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got 'ftp://collector'",
    );
  });

  test("OTEL_EXPORTER_CONSOLE set to anything turns on console export", () => {
    expect(loadConfig({ OTEL_EXPORTER_CONSOLE: "1" }).telemetry.console).toBe(true);
    expect(loadConfig({ OTEL_EXPORTER_CONSOLE: "" }).telemetry.console).toBe(false);
  });
});

describe("request limits", () => {
  test("defaults", () => {
    expect(loadConfig({}).limits).toEqual({
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
      maxBodyBytes: 1_048_576,
      maxStatusRapIds: 10_000,
      maxRunCommandBytes: 65_536,
      maxAgentStringChars: 10_000,
    });
  });

  test("each is set by its variable; timeouts are seconds and may be fractions", () => {
    const limits = loadConfig({
      REQUEST_TIMEOUT: "2.5",
      KEEP_ALIVE_TIMEOUT: "5",
      MAX_BODY_BYTES: "2048",
      MAX_STATUS_RAP_IDS: "50",
      MAX_RUN_COMMAND_BYTES: "100",
      MAX_AGENT_STRING_CHARS: "300",
    }).limits;
    expect(limits).toEqual({
      requestTimeoutMs: 2500,
      keepAliveTimeoutMs: 5000,
      maxBodyBytes: 2048,
      maxStatusRapIds: 50,
      maxRunCommandBytes: 100,
      maxAgentStringChars: 300,
    });
    expect(Object.isFrozen(limits)).toBe(true);
    // Never rounded down to 0, which Node reads as "no limit".
    expect(loadConfig({ REQUEST_TIMEOUT: "0.0001" }).limits.requestTimeoutMs).toBe(1);
  });

  test.each([
    [{ REQUEST_TIMEOUT: "0" }, "Invalid configuration: REQUEST_TIMEOUT must be a positive number, got '0'"],
    [
      { KEEP_ALIVE_TIMEOUT: "soon" },
      "Invalid configuration: KEEP_ALIVE_TIMEOUT must be a positive number, got 'soon'",
    ],
    [
      { MAX_BODY_BYTES: "1MB" },
      "Invalid configuration: MAX_BODY_BYTES must be a whole number of 0 or more, got '1MB'",
    ],
    [{ MAX_STATUS_RAP_IDS: "0" }, "Invalid configuration: MAX_STATUS_RAP_IDS must be at least 1, got '0'"],
    [
      { MAX_RUN_COMMAND_BYTES: "-5" },
      "Invalid configuration: MAX_RUN_COMMAND_BYTES must be a whole number of 0 or more, got '-5'",
    ],
  ])("bad value %j fails naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
