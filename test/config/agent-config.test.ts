import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { agentConfigWarnings, loadAgentConfig } from "../../src/config/agent.js";
import { ConfigError } from "../../src/config/errors.js";

const BASE = { BACKEND: "test", CONTROLLER_TASK_API_ENDPOINT: "http://127.0.0.1:8000/" };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadAgentConfig({ ...BASE, ...env }, "/srv/rap");
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("no ConfigError");
}

describe("loadAgentConfig", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rap-agent-config-"));
    await writeFile(join(dir, "key.pem"), "KEY");
    await writeFile(join(dir, "cert.pem"), "CERT");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test("LOGLEVEL sets the agent's log level as it does the controller's (Python's names too)", () => {
    expect(loadAgentConfig(BASE, "/srv/rap").logLevel).toBe("info");
    expect(loadAgentConfig({ ...BASE, LOGLEVEL: "WARNING" }, "/srv/rap").logLevel).toBe("warn");
    expect(configError({ LOGLEVEL: "loud" }).variable).toBe("LOGLEVEL");
  });

  test("the reference's defaults, storage under WORKDIR", () => {
    const config = loadAgentConfig(BASE, "/srv/rap");
    expect(config.backend).toBe("test");
    expect(config.taskApiToken).toBe("token");
    expect(config.storage).toEqual({
      workdir: "/srv/rap/workdir",
      highPrivacyStorageBase: "/srv/rap/workdir/high_privacy",
      mediumPrivacyStorageBase: "/srv/rap/workdir/medium_privacy",
      highPrivacyArchiveDir: "/srv/rap/workdir/high_privacy/archives",
      highPrivacyVolumeDir: "/srv/rap/workdir/high_privacy/volumes",
      dockerHostVolumeDir: null,
    });
    expect(config).toMatchObject({
      dockerRegistry: "ghcr.io/opensafely-core",
      dockerProxy: "docker-proxy.opensafely.org/opensafely-core",
      imagePullTimeoutMs: 1_200_000,
      usingDummyDataBackend: false,
      databaseAccessNetwork: "jobrunner-db",
      databaseUrls: {},
      tempDatabaseName: null,
      emisOrganisationHash: null,
      prestoTls: null,
      statsPollIntervalMs: 10_000,
      maxJobOutputBytes: 0,
      jobLoopIntervalMs: 1000,
      executor: null,
      dockerHost: null,
      localExecutorCommands: {},
      maxTaskRetries: 5,
      dockerUserDefaulted: true,
      dockerPidsLimit: 4096,
      jobLogMaxBytes: 8 * 1024 * 1024,
      allowLocalGitRepos: false,
      allowedGithubOrgs: ["opensafely", "opensafely-actions"],
      githubProxyDomain: "github-proxy.opensafely.org",
      privateRepoAccessToken: "",
    });
    expect(config.dockerUserId).toBe(String(process.getuid!()));
    expect(Object.isFrozen(config)).toBe(true);
    expect(agentConfigWarnings({ ...config, dockerUserId: "1000", dockerGroupId: "1000" })).toEqual([
      "CONTROLLER_TASK_API_TOKEN is not set: the agent uses the insecure default token",
    ]);
  });

  test("warns when job containers would run as root because the ids default to a root agent's", () => {
    const asRoot = {
      ...loadAgentConfig({ ...BASE, CONTROLLER_TASK_API_TOKEN: "t" }, "/"),
      dockerUserId: "0",
    };
    const rootWarning =
      "the agent runs as root and DOCKER_USER_ID/DOCKER_GROUP_ID are not set: jobs run as root (uid 0) in their " +
      "containers; run the agent as a dedicated user, or set DOCKER_USER_ID and DOCKER_GROUP_ID to one " +
      "(docs/deployment.md)";
    expect(agentConfigWarnings(asRoot)).toEqual([rootWarning]);
    // Set explicitly, even to 0, it is the operator's choice; the local runtime runs no containers.
    const explicit = loadAgentConfig({ ...BASE, CONTROLLER_TASK_API_TOKEN: "t", DOCKER_USER_ID: "0" }, "/");
    expect(explicit.dockerUserDefaulted).toBe(false);
    expect(agentConfigWarnings({ ...explicit, dockerUserId: "0" })).toEqual([]);
    expect(agentConfigWarnings({ ...asRoot, executor: "local" })).toEqual([]);
  });

  test("DOCKER_PIDS_LIMIT (0 for none) and JOB_LOG_MAX_BYTES (at least 64 KiB)", () => {
    const config = loadAgentConfig({ ...BASE, DOCKER_PIDS_LIMIT: "100", JOB_LOG_MAX_BYTES: "65536" }, "/");
    expect(config).toMatchObject({ dockerPidsLimit: 100, jobLogMaxBytes: 65_536 });
    expect(loadAgentConfig({ ...BASE, DOCKER_PIDS_LIMIT: "0" }, "/").dockerPidsLimit).toBeNull();
    expect(configError({ DOCKER_PIDS_LIMIT: "-1" }).message).toBe(
      "Invalid configuration: DOCKER_PIDS_LIMIT must be a whole number of 0 or more, got '-1'",
    );
    expect(configError({ JOB_LOG_MAX_BYTES: "1000" }).message).toBe(
      "Invalid configuration: JOB_LOG_MAX_BYTES must be 65536 or more, got '1000'",
    );
  });

  test("every setting read under its reference name", () => {
    const config = loadAgentConfig(
      {
        ...BASE,
        WORKDIR: "wd",
        HIGH_PRIVACY_STORAGE_BASE: "/h",
        MEDIUM_PRIVACY_STORAGE_BASE: "/m",
        DOCKER_HOST_VOLUME_DIR: "/host/volumes",
        DEFAULT_DATABASE_URL: "mssql://u:p@db:1433/x",
        INCLUDE_T1OO_DATABASE_URL: "ignored",
        TEMP_DATABASE_NAME: "temp",
        EMIS_ORGANISATION_HASH: "hash",
        PRESTO_TLS_KEY_PATH: join(dir, "key.pem"),
        PRESTO_TLS_CERT_PATH: join(dir, "cert.pem"),
        USING_DUMMY_DATA_BACKEND: " Yes ",
        JOB_LOOP_INTERVAL: "0",
        STATS_POLL_INTERVAL: "2.5",
        MAX_JOB_OUTPUT_BYTES: "10000000000",
        DOCKER_USER_ID: "1000",
        DOCKER_GROUP_ID: "1001",
        EXECUTOR: "local",
        LOCAL_EXECUTOR_COMMANDS: "python=python3, r=Rscript",
        MAX_TASK_RETRIES: "2",
        CONTROLLER_TASK_API_TOKEN: "secret",
      },
      "/srv/rap",
    );
    expect(config.storage).toEqual({
      workdir: "/srv/rap/wd",
      highPrivacyStorageBase: "/h",
      mediumPrivacyStorageBase: "/m",
      highPrivacyArchiveDir: "/h/archives",
      highPrivacyVolumeDir: "/h/volumes",
      dockerHostVolumeDir: "/host/volumes",
    });
    expect(config.databaseUrls).toEqual({ default: "mssql://u:p@db:1433/x" });
    expect(config.prestoTls).toEqual({ key: "KEY", cert: "CERT" });
    expect(config).toMatchObject({
      tempDatabaseName: "temp",
      emisOrganisationHash: "hash",
      usingDummyDataBackend: true,
      jobLoopIntervalMs: 0,
      statsPollIntervalMs: 2500,
      maxJobOutputBytes: 10_000_000_000,
      dockerUserId: "1000",
      dockerGroupId: "1001",
      executor: "local",
      localExecutorCommands: { python: "python3", r: "Rscript" },
      maxTaskRetries: 2,
    });
    expect(agentConfigWarnings(config)).toEqual([]);
  });

  test.each([
    ["Yes", true],
    ["true", true],
    ["1", true],
    ["false", false],
    ["foo", false],
  ])("USING_DUMMY_DATA_BACKEND=%s → %s", (value, expected) => {
    expect(loadAgentConfig({ ...BASE, USING_DUMMY_DATA_BACKEND: value }, "/").usingDummyDataBackend).toBe(
      expected,
    );
  });

  test("EXECUTOR=slurm and the Slurm runtime's settings, with their defaults", () => {
    const defaults = loadAgentConfig({ ...BASE, EXECUTOR: "slurm" }, "/srv/rap");
    expect(defaults.executor).toBe("slurm");
    expect(defaults.slurm).toEqual({
      sharedDir: "/srv/rap/workdir/slurm",
      partition: null,
      account: null,
      timeLimit: null,
      extraArgs: [],
      commandTimeoutMs: 30_000,
      slurmConf: null,
      engine: "docker",
    });
    const set = loadAgentConfig(
      {
        ...BASE,
        SLURM_SHARED_DIR: "/shared/rap",
        SLURM_PARTITION: "research",
        SLURM_ACCOUNT: "opensafely",
        SLURM_TIME_LIMIT: "1-12:00:00",
        SLURM_EXTRA_ARGS: " --qos=low  --constraint=docker ",
        SLURM_COMMAND_TIMEOUT: "5",
        SLURM_CONF: "/etc/slurm-rap/slurm.conf",
        SLURM_CONTAINER_ENGINE: "podman",
      },
      "/srv/rap",
    );
    expect(set.slurm).toEqual({
      sharedDir: "/shared/rap",
      partition: "research",
      account: "opensafely",
      timeLimit: "1-12:00:00",
      extraArgs: ["--qos=low", "--constraint=docker"],
      commandTimeoutMs: 5000,
      slurmConf: "/etc/slurm-rap/slurm.conf",
      engine: "podman",
    });
    expect(configError({ SLURM_TIME_LIMIT: "a day" }).message).toContain(
      "SLURM_TIME_LIMIT must be a time limit sbatch reads, such as 24:00:00 or 2-00:00:00, got 'a day'",
    );
    expect(configError({ SLURM_SHARED_DIR: "rel" }).variable).toBe("SLURM_SHARED_DIR");
    expect(configError({ SLURM_CONTAINER_ENGINE: "singularity" }).message).toContain(
      "SLURM_CONTAINER_ENGINE must be 'docker' or 'podman', got 'singularity'",
    );
  });

  test("EXECUTOR accepts the reference's class name as docker", () => {
    expect(loadAgentConfig({ ...BASE, EXECUTOR: "agent.executors.local:LocalDockerAPI" }, "/").executor).toBe(
      "docker",
    );
  });

  test.each([
    [{ BACKEND: "" }, "BACKEND", "must name the backend"],
    [{ BACKEND: "foo" }, "BACKEND", "foo is not valid, allowed backends are: test, tpp, emis, ted"],
    [{ CONTROLLER_TASK_API_ENDPOINT: "" }, "CONTROLLER_TASK_API_ENDPOINT", "must be set"],
    [{ CONTROLLER_TASK_API_ENDPOINT: "ftp://x/" }, "CONTROLLER_TASK_API_ENDPOINT", "http://"],
    [{ HIGH_PRIVACY_STORAGE_BASE: "rel/high" }, "HIGH_PRIVACY_STORAGE_BASE", "must be an absolute path"],
    [{ MEDIUM_PRIVACY_STORAGE_BASE: "rel" }, "MEDIUM_PRIVACY_STORAGE_BASE", "absolute"],
    [{ HIGH_PRIVACY_VOLUME_DIR: "rel" }, "HIGH_PRIVACY_VOLUME_DIR", "absolute"],
    [
      { PRESTO_TLS_KEY_PATH: "/k" },
      "PRESTO_TLS_CERT_PATH",
      "Both PRESTO_TLS_KEY_PATH and PRESTO_TLS_CERT_PATH",
    ],
    [
      { PRESTO_TLS_KEY_PATH: "/no/such/key", PRESTO_TLS_CERT_PATH: "/no/such/cert" },
      "PRESTO_TLS_KEY_PATH",
      "/no/such/key",
    ],
    [{ JOB_LOOP_INTERVAL: "-1" }, "JOB_LOOP_INTERVAL", "0 or more"],
    [{ STATS_POLL_INTERVAL: "0" }, "STATS_POLL_INTERVAL", "positive"],
    [{ MAX_JOB_OUTPUT_BYTES: "10G" }, "MAX_JOB_OUTPUT_BYTES", "whole number"],
    [{ IMAGE_PULL_TIMEOUT: "x" }, "IMAGE_PULL_TIMEOUT", "positive"],
    [{ DOCKER_USER_ID: "root" }, "DOCKER_USER_ID", "whole number"],
    [{ EXECUTOR: "k8s" }, "EXECUTOR", "'docker', 'local' or 'slurm'"],
    [{ LOCAL_EXECUTOR_COMMANDS: "python" }, "LOCAL_EXECUTOR_COMMANDS", "python=python3"],
    [{ MAX_TASK_RETRIES: "0" }, "MAX_TASK_RETRIES", "1 or more"],
  ])("%j is refused naming %s", (env, variable, text) => {
    const error = configError(env as Record<string, string>);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(text);
  });

  test("a secret never appears in a configuration error", () => {
    const error = configError({ CONTROLLER_TASK_API_TOKEN: "s3cret", BACKEND: "nope" });
    expect(error.message).not.toContain("s3cret");
  });
});
