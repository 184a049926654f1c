/** The Slurm runtime's pure parts: what it hands to sbatch and docker, and how it reads Slurm's answers. */
import { describe, expect, it } from "vitest";
import { runSlurm } from "../../../src/agent/runtime/slurm-commands.js";
import {
  batchScript,
  createArgs,
  envFile,
  type ScriptSpec,
  sbatchArgs,
  shellQuote,
} from "../../../src/agent/runtime/slurm-script.js";
import {
  parseSacctJobs,
  parseScontrolJobs,
  parseSqueueJobs,
  parseUsage,
  SACCT_FORMAT,
  SQUEUE_FORMAT,
  slurmJobState,
} from "../../../src/agent/runtime/slurm-state.js";
import { statusMessage } from "../../../src/agent/status-message.js";

const spec: ScriptSpec = {
  name: "os-job-abc",
  image: "ghcr.io/opensafely-core/python:v2",
  args: ["-c", "print('it''s')"],
  env: { SECRET: "value" },
  volumeDir: "/shared/volumes/abc",
  cpuCount: 1.5,
  memoryLimit: "1G",
  network: { kind: "none" },
  user: "1000:1000",
  labels: { "job-runner": "", workspace: "ws", action: "a" },
  dir: "/shared/slurm/jobs/os-job-abc",
  pidsLimit: 4096,
  engine: "docker",
  oneOff: false,
  liveLogMaxBytes: 8 * 1024 * 1024,
};

const NONE = { partition: null, account: null, timeLimit: null, extraArgs: [] };

const scontrol = (fields: string) =>
  parseScontrolJobs(
    `JobId=7 JobName=os-job-abc UserId=root(0) ${fields} NodeList=vm Command=/x/job.sh\n`,
  )[0]!;

describe("sbatch and docker arguments", () => {
  it("names the job, asks for its CPUs and memory, and adds the operator's settings", () => {
    expect(
      sbatchArgs(
        spec,
        { partition: "p", account: "acc", timeLimit: "2:00:00", extraArgs: ["--qos=low"] },
        "/s/job.sh",
      ),
    ).toEqual([
      "--parsable",
      "--job-name=os-job-abc",
      "--output=/shared/slurm/jobs/os-job-abc/slurm.out",
      "--chdir=/shared/slurm/jobs/os-job-abc",
      "--export=ALL",
      "--no-requeue",
      "--nodes=1",
      "--ntasks=1",
      "--cpus-per-task=2",
      "--mem=1024M",
      "--time=2:00:00",
      "--partition=p",
      "--account=acc",
      "--qos=low",
      "/s/job.sh",
    ]);
    expect(sbatchArgs({ ...spec, cpuCount: null, memoryLimit: null }, NONE, "/s/job.sh")).not.toContainEqual(
      expect.stringMatching(/^--(mem|cpus-per-task)=/),
    );
  });

  it("runs Slurm's commands with an environment of their own, which sbatch --export=ALL hands to the batch script", async () => {
    process.env.RAP_TEST_AGENT_SECRET = "must not reach a node";
    try {
      // `env` stands in for sbatch: it prints the environment it was given.
      const { stdout } = await runSlurm("env", [], { timeoutMs: 10_000, slurmConf: "/etc/slurm/other.conf" });
      expect(stdout.trim().split("\n").sort()).toEqual([
        "LC_ALL=C",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "SLURM_CONF=/etc/slurm/other.conf",
      ]);
    } finally {
      delete process.env.RAP_TEST_AGENT_SECRET;
    }
  });

  it("creates the container with the Docker runtime's hardening", () => {
    expect(createArgs(spec, "/d/env")).toEqual([
      "--name=os-job-abc",
      "--init",
      "--log-driver=local",
      "--log-opt=max-file=200",
      "--log-opt=max-size=20m",
      "--log-opt=compress=true",
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      "--env-file=/d/env",
      "--pids-limit=4096",
      "--cpus=1.5",
      `--memory=${2 ** 30}`,
      "--mount=type=bind,source=/shared/volumes/abc,target=/workspace",
      "--workdir=/workspace",
      "--network=none",
      "--user=1000:1000",
      "--label=job-runner=",
      "--label=workspace=ws",
      "--label=action=a",
      "--",
      "ghcr.io/opensafely-core/python:v2",
      "-c",
      "print('it''s')",
    ]);
    const database = createArgs(
      {
        ...spec,
        network: { kind: "database", network: "jobrunner-db", extraHosts: [{ host: "db", ip: "10.0.0.5" }] },
      },
      "/d/env",
    );
    expect(database).toEqual(
      expect.arrayContaining(["--network=jobrunner-db", "--dns=192.0.2.0", "--add-host=db:10.0.0.5"]),
    );
    expect(createArgs({ ...spec, network: { kind: "default" } }, "/d/env").join(" ")).not.toContain(
      "--network",
    );
    expect(() => createArgs({ ...spec, volumeDir: "/a,b" }, "/d/env")).toThrow("holds a comma or a quote");
  });

  it("keeps environment values out of the script, in an env file that refuses line breaks", () => {
    expect(envFile({ SECRET: "value=with=equals" })).toBe("HOME=/tmp\nSECRET=value=with=equals\n");
    expect(() => envFile({ SECRET: "two\nlines" })).toThrow(
      "the value of SECRET holds a line break, which the Slurm runtime cannot pass on",
    );
    expect(batchScript(spec)).not.toContain("value");
  });

  it("writes a job's live log, bounded, and waits for it before the end is recorded; none for a one-off", () => {
    const script = batchScript(spec);
    expect(script).toContain(
      `docker logs --follow --timestamps "$name" 2>&1 | stdbuf -o0 head -c 8388608 >"$dir"/live.txt &`,
    );
    expect(script.indexOf(`wait "$follower"`)).toBeGreaterThan(script.indexOf("docker wait"));
    expect(script.indexOf(`wait "$follower"`)).toBeLessThan(script.indexOf("docker inspect"));
    expect(batchScript({ ...spec, oneOff: true })).not.toContain("live.txt");
  });

  it("records the end having read its logs and inspected it at once, then removes the container", () => {
    const script = batchScript(spec);
    const record = script.indexOf(`mv -f "$dir"/inspect.tmp "$dir"/inspect.json`);
    expect(script.lastIndexOf(`docker rm --force "$name"`)).toBeGreaterThan(record);
    expect(script).toMatch(
      /docker logs --timestamps --tail \d+ "\$name" >"\$dir"\/logs.txt 2>&1 &\nreader=\$!\n/,
    );
    expect(script.indexOf(`wait "$reader"`)).toBeGreaterThan(
      script.indexOf(`docker inspect "$name" "$image"`),
    );
    expect(script.indexOf(`wait "$reader"`)).toBeLessThan(record);
    // The exit code from the one `docker wait`; asked again only when a cancel stopped that client.
    expect(script).toContain(`[ -n "$code" ] || code="$(docker wait "$name" 2>/dev/null)"`);
  });

  it("runs the container through podman when it is the nodes' engine, with a log driver podman has", () => {
    const podman = { ...spec, engine: "podman" as const };
    const args = createArgs(podman, "/d/env");
    expect(args.slice(0, 5)).toEqual([
      "--name=os-job-abc",
      "--init",
      "--log-driver=k8s-file",
      "--log-opt=max-size=4g",
      "--cap-drop=ALL",
    ]);
    expect(args.slice(4)).toEqual(createArgs(spec, "/d/env").slice(6));
    const script = batchScript(podman);
    // Every engine command of the Docker script, each through podman.
    const commands = (text: string, engine: string) =>
      [...text.matchAll(new RegExp(`\\b${engine} (\\w+)`, "g"))].map((match) => match[1]);
    expect(commands(script, "podman")).toEqual(commands(batchScript(spec), "docker"));
    expect(script).not.toMatch(/\bdocker\b/);
    expect(script).toContain(`fail "Podman image $image could not be run on node`);
    // Its own `--tail` splits long lines: the last lines of the whole log instead.
    expect(script).toContain(`podman logs --timestamps "$name" 2>&1 | tail -n 100000 >"$dir"/logs.txt &\n`);
  });

  it("quotes every word it puts in the script", () => {
    expect(shellQuote("it's $HOME `x`")).toBe(`'it'\\''s $HOME \`x\`'`);
    expect(batchScript(spec)).toContain(`'print('\\''it'\\'''\\''s'\\'')'`);
  });
});

describe("reading Slurm", () => {
  it("reads scontrol's one-line records", () => {
    expect(
      scontrol("JobState=CANCELLED Reason=None ExitCode=0:15 StartTime=2026-12-06T21:31:03"),
    ).toMatchObject({
      JobId: "7",
      JobName: "os-job-abc",
      JobState: "CANCELLED",
      ExitCode: "0:15",
      NodeList: "vm",
    });
  });

  it("reads squeue's records under scontrol's names", () => {
    expect(SQUEUE_FORMAT).toBe(
      "JobID:|,Name:|,State:|,Reason:|,SubmitTime:|,StartTime:|,EndTime:|,TimeUsed:|,TimeLimit:|,NodeList:|,exit_code:|",
    );
    const text =
      "44|os-job-abc|COMPLETED|None|2026-12-06T21:52:04|2026-12-06T21:52:05|2026-12-06T21:52:13|0:08|UNLIMITED|vm|0|\n" +
      "not a job line\n";
    expect(parseSqueueJobs(text)).toEqual([
      {
        JobId: "44",
        JobName: "os-job-abc",
        JobState: "COMPLETED",
        Reason: "None",
        SubmitTime: "2026-12-06T21:52:04",
        StartTime: "2026-12-06T21:52:05",
        EndTime: "2026-12-06T21:52:13",
        RunTime: "0:08",
        TimeLimit: "UNLIMITED",
        NodeList: "vm",
        ExitCode: "0",
      },
    ]);
  });

  it("a queued or running job is running, since it was submitted or started; Slurm's forgotten job without a record is none", () => {
    const none = { inspect: null, failed: null };
    expect(slurmJobState(none, scontrol("JobState=PENDING SubmitTime=2026-12-06T21:31:00"))).toMatchObject({
      running: true,
      exitCode: null,
      startedAtNs: new Date("2026-12-06T21:31:00").getTime() * 1e6,
      metadata: { State: { Status: "queued" } },
    });
    expect(slurmJobState(none, scontrol("JobState=RUNNING StartTime=2026-12-06T21:31:03"))).toMatchObject({
      running: true,
      startedAtNs: new Date("2026-12-06T21:31:03").getTime() * 1e6,
      metadata: { State: { Status: "running" } },
    });
    expect(slurmJobState(none, null)).toBeNull();
  });

  it("reads sacct's records under scontrol's names, as accounting keeps them after the controller forgets", () => {
    expect(SACCT_FORMAT).toBe(
      "JobID,JobName,State,Reason,Submit,Start,End,Elapsed,Timelimit,NodeList,ExitCode",
    );
    // sacct 22.05's answers for a job cancelled while held, one stopped at its time limit, and one that failed.
    const [cancelled, timedOut, failed] = parseSacctJobs(
      [
        "4044|os-job-a|CANCELLED by 0|None|2026-12-07T09:54:39|2026-12-07T09:54:39|2026-12-07T09:54:39|00:00:00|Partition_Limit|None assigned|0:0",
        "4045|os-job-b|TIMEOUT|None|2026-12-07T09:54:39|2026-12-07T09:54:39|2026-12-07T09:55:48|00:01:09|00:01:00|vm|0:0",
        "4046|os-job-c|FAILED|None|2026-12-07T09:54:39|2026-12-07T09:54:39|2026-12-07T09:54:39|00:00:00|UNLIMITED|vm|3:0",
        "",
      ].join("\n"),
    );
    expect(timedOut).toEqual({
      JobId: "4045",
      JobName: "os-job-b",
      JobState: "TIMEOUT",
      Reason: "None",
      SubmitTime: "2026-12-07T09:54:39",
      StartTime: "2026-12-07T09:54:39",
      EndTime: "2026-12-07T09:55:48",
      RunTime: "00:01:09",
      TimeLimit: "00:01:00",
      NodeList: "vm",
      ExitCode: "0:0",
    });
    const none = { inspect: null, failed: null };
    expect(slurmJobState(none, cancelled!)).toMatchObject({ running: false, exitCode: 137 });
    expect(slurmJobState(none, timedOut!)).toMatchObject({
      exitCode: 137,
      endedBecause: "Job exceeded the cluster's time limit of 00:01:00 and was stopped (SLURM_TIME_LIMIT)",
    });
    expect(slurmJobState(none, failed!)?.endedBecause).toBe(
      "The cluster ended this job (Slurm state FAILED) before it started: run it again, and tell the backend's " +
        "operators if this repeats",
    );
    // No node is named when accounting says none was assigned.
    expect(
      slurmJobState(none, { ...cancelled!, JobState: "FAILED", RunTime: "00:00:01" })?.endedBecause,
    ).toBe(
      "The job's batch script failed on its node (Slurm state FAILED, exit 0:0) before the job's end was recorded: " +
        "tell the backend's operators",
    );
  });

  it("maps endings the script could not record to results a researcher can act on", () => {
    const none = { inspect: null, failed: null };
    const ending = (fields: string) =>
      slurmJobState(none, scontrol(`${fields} StartTime=2026-12-06T21:31:03`));
    expect(ending("JobState=CANCELLED RunTime=00:00:00")).toMatchObject({ running: false, exitCode: 137 });
    expect(ending("JobState=OUT_OF_MEMORY")).toMatchObject({ exitCode: 137, oomKilled: true });
    expect(ending("JobState=TIMEOUT TimeLimit=01:00:00")).toMatchObject({
      exitCode: 137,
      endedBecause: "Job exceeded the cluster's time limit of 01:00:00 and was stopped (SLURM_TIME_LIMIT)",
    });
    expect(ending("JobState=NODE_FAIL")).toMatchObject({
      exitCode: null,
      endedBecause: "The cluster node running this job (vm) failed, so the job did not finish: run it again",
    });
    expect(ending("JobState=FAILED ExitCode=1:0 RunTime=00:00:02")?.endedBecause).toBe(
      "The job's batch script failed on vm (Slurm state FAILED, exit 1:0) before the job's end was recorded: " +
        "tell the backend's operators",
    );
    expect(
      slurmJobState({ inspect: null, failed: "Docker image x is not available on node vm" }, null),
    ).toMatchObject({
      running: false,
      exitCode: null,
      endedBecause: "Docker image x is not available on node vm",
    });
  });

  it("a recorded end is the container's; a kill at the time limit says so", () => {
    const inspect = {
      Image: "sha256:abc",
      State: {
        Status: "exited",
        ExitCode: 137,
        OOMKilled: false,
        StartedAt: "2026-12-06T21:31:03.5Z",
        FinishedAt: "2026-12-06T21:32:03.5Z",
      },
      HostConfig: { Memory: 2 ** 30 },
    };
    const state = slurmJobState({ inspect, failed: null }, scontrol("JobState=TIMEOUT TimeLimit=00:01:00"));
    expect(state).toMatchObject({
      running: false,
      exitCode: 137,
      imageId: "sha256:abc",
      memoryLimitBytes: 2 ** 30,
    });
    expect(state?.metadata).toMatchObject({ State: { ExitCode: 137 }, Slurm: { JobId: "7" } });
    const message = statusMessage({
      exitCode: 137,
      oomKilled: false,
      memoryLimitBytes: 0,
      cancelled: false,
      errored: false,
      outputCount: 0,
      unmatchedPatterns: [],
      unmatchedOutputs: [],
      endedBecause: state?.endedBecause ?? null,
    });
    expect(message.message).toBe(
      "Job exceeded the cluster's time limit of 00:01:00 and was stopped (SLURM_TIME_LIMIT)",
    );
    expect(
      slurmJobState({ inspect, failed: null }, scontrol("JobState=CANCELLED"))?.endedBecause,
    ).toBeUndefined();
  });

  it("reads the usage samples docker and podman print", () => {
    expect(parseUsage("12.34% 64.5MiB / 23.5GiB")).toEqual({
      cpuPercent: 12.34,
      memoryBytes: Math.round(64.5 * 2 ** 20),
    });
    expect(parseUsage("0.00% 512kB / 1GB")).toEqual({ cpuPercent: 0, memoryBytes: 512_000 });
    expect(parseUsage("--")).toBeNull();
  });
});
