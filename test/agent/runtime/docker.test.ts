import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "../../../src/agent/runtime/docker.js";
import { detectRuntime } from "../../../src/agent/runtime/index.js";
import {
  type ContainerSpec,
  ImageUnavailableError,
  RuntimeTimeoutError,
} from "../../../src/agent/runtime/types.js";
import {
  dockerRegistryRequirement,
  dockerRequirement,
  dockerSocket,
  requires,
  testImage,
} from "../../support/requirements.js";
import { describeRuntimeConformance, jobFixtures, jobSpec, waitForExit } from "./conformance.js";
import { startRegistry } from "./registry.js";

const dockerOk = requires(await dockerRequirement());
const registryOk = dockerOk && requires(await dockerRegistryRequirement());

const create = () => new DockerRuntime({ socketPath: dockerSocket });
const docker = new Docker({ socketPath: dockerSocket });

/** Waits for a pull, push or import progress stream to end; fails on an error event inside it. */
async function drain(stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  const events = await new Promise<Array<Record<string, unknown>>>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, output: Array<Record<string, unknown>>) =>
      error ? reject(error) : resolve(output),
    ),
  );
  const failed = events.find((event) => event.error);
  if (failed) throw new Error(String(failed.error));
  return events;
}

describe.skipIf(!dockerOk)("DockerRuntime conformance", () => {
  describeRuntimeConformance(() => ({
    create: (options) => new DockerRuntime({ socketPath: dockerSocket, ...options }),
    removeFromOutside: (name) => docker.getContainer(name).remove({ force: true }),
    image: testImage,
  }));
});

describe.skipIf(!dockerOk)("DockerRuntime", () => {
  const fixtures = jobFixtures(create);
  const spec = (overrides: Parameters<typeof jobSpec>[2]) => jobSpec(testImage, fixtures, overrides);

  it("creates the container as the reference's docker run line does", async () => {
    const rt = create();
    const job = spec({
      code: "pass",
      cpuCount: 1.5,
      memoryLimit: "1G",
      env: { JOB_VAR: "v" },
      user: "1000:1000",
    });
    await rt.start(job);
    const state = await waitForExit(rt, job.name);
    expect(state.memoryLimitBytes).toBe(2 ** 30);
    expect(state.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const info = state.metadata as unknown as Docker.ContainerInspectInfo;
    expect(info.Name).toBe(`/${job.name}`);
    expect(info.Config.Labels).toEqual({
      "job-runner": "",
      "jobrunner-local": "",
      workspace: "conformance",
      action: "test_action",
    });
    expect(info.Config.Env).toEqual(expect.arrayContaining(["HOME=/tmp", "JOB_VAR=v"]));
    expect(info.Config.User).toBe("1000:1000");
    expect(info.Config.WorkingDir).toBe("/workspace");
    expect(info.Config.Cmd).toEqual(["-c", "pass"]);
    expect(info.HostConfig).toMatchObject({
      Init: true,
      LogConfig: { Type: "local", Config: { "max-file": "200", "max-size": "20m", compress: "true" } },
      NanoCpus: 1.5e9,
      Memory: 2 ** 30,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      NetworkMode: "none",
      PidsLimit: 4096,
    });
    expect(info.HostConfig.CapAdd ?? null).toBeNull();
    expect(info.Mounts).toEqual([
      expect.objectContaining({ Type: "bind", Source: job.volumeDir, Destination: "/workspace" }),
    ]);
  });

  it("reads stats while job containers are removed at the same moment, leaving the removed ones out", async () => {
    const rt = create();
    const jobs = [1, 2, 3, 4].map(() => spec({ code: "import time; time.sleep(120)" }));
    for (const job of jobs) await rt.start(job);
    // Each removal races a stats read that has already listed the container.
    const reads = await Promise.all(
      jobs.map(async (job) => {
        const [stats] = await Promise.all([
          rt.stats(),
          docker.getContainer(job.name).remove({ force: true }),
        ]);
        return stats;
      }),
    );
    for (const stats of reads) for (const s of stats) expect(s.cpuPercent).toBeGreaterThanOrEqual(0);
    const names = new Set(jobs.map((job) => job.name.slice("os-job-".length)));
    expect((await rt.stats()).filter((s) => names.has(s.jobId))).toEqual([]);
  });

  it("stats stops waiting on the daemon once its signal aborts (the agent is stopping)", async () => {
    const rt = create();
    const job = spec({ code: "import time; time.sleep(120)" });
    await rt.start(job);
    // The daemon takes two samples a second apart for each container: the abort lands while it waits.
    const stop = new AbortController();
    const reading = rt.stats(stop.signal);
    stop.abort();
    await expect(reading).rejects.toMatchObject({ name: "AbortError" });
    expect((await rt.stats()).map((s) => s.jobId)).toContain(job.name.slice("os-job-".length));
  });

  it("stops a fork bomb at DOCKER_PIDS_LIMIT: forks past the limit fail inside the job", async () => {
    const rt = new DockerRuntime({ socketPath: dockerSocket, pidsLimit: 64 });
    const job = spec({
      code: [
        "import os, time",
        "forked = failed = 0",
        "for _ in range(200):",
        "    try:",
        "        if os.fork() == 0:",
        "            time.sleep(30)",
        "            os._exit(0)",
        "        forked += 1",
        "    except OSError:",
        "        failed += 1",
        "open('forks.txt', 'w').write(f'{forked} {failed}')",
      ].join("\n"),
    });
    await rt.start(job);
    await waitForExit(rt, job.name, 60_000);
    const [forked, failed] = readFileSync(join(job.volumeDir, "forks.txt"), "utf8").split(" ").map(Number);
    // tini and python count too: fewer than 64 children, and every fork past that failed.
    expect(forked).toBeLessThan(64);
    expect(failed).toBe(200 - forked!);
  });

  it("runs the job as the given user, with no capabilities and no new privileges", async () => {
    const rt = create();
    const job = spec({
      user: "1000:1000",
      code: [
        "import os",
        "status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines() if ':\\t' in line)",
        "open('who.txt', 'w').write(f\"{os.getuid()}:{os.getgid()} {status['CapEff']} {status['NoNewPrivs']}\")",
      ].join("\n"),
    });
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
    expect(readFileSync(join(job.volumeDir, "who.txt"), "utf8")).toBe("1000:1000 0000000000000000 1");
  });

  describe("networks", () => {
    let server: ReturnType<typeof createServer>;
    let port = 0;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.end();
      });
      await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    // Connects to a TCP port of the host (`gateway`: the container's default route, which is the host's side of a
    // bridge network) and resolves a name; reports the interfaces, the address tried and both outcomes.
    const probe = [
      "import os, socket, struct, sys",
      "target = sys.argv[1]",
      "if target == 'gateway':",
      "    for fields in (line.split() for line in open('/proc/net/route').read().splitlines()[1:]):",
      "        if fields[1] == '00000000': target = socket.inet_ntoa(struct.pack('<L', int(fields[2], 16)))",
      "try:",
      "    socket.create_connection((target, int(sys.argv[2])), timeout=2).close()",
      "    reached = 'connected'",
      "except OSError:",
      "    reached = 'unreachable'",
      "try:",
      "    resolved = socket.gethostbyname(sys.argv[3])",
      "except OSError:",
      "    resolved = 'unresolved'",
      "interfaces = ','.join(sorted(os.listdir('/sys/class/net')))",
      "open('net.txt', 'w').write(' '.join([interfaces, target, reached, resolved]))",
    ].join("\n");

    async function runProbe(
      network: ContainerSpec["network"],
      target: string,
      host: string,
    ): Promise<string> {
      const rt = create();
      const job = spec({ code: probe, network });
      await rt.start({ ...job, args: [...job.args, target, String(port), host] });
      expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
      return readFileSync(join(job.volumeDir, "net.txt"), "utf8");
    }

    it("gives a job without database access no network at all (the default bridge is the control)", async () => {
      // A dummy-data database job gets Docker's default bridge, from which the host is reachable.
      const control = await runProbe({ kind: "default" }, "gateway", "localhost");
      const [interfaces, gateway, reached, resolved] = control.split(" ");
      expect([interfaces, reached, resolved]).toEqual(["eth0,lo", "connected", "127.0.0.1"]);
      expect(await runProbe({ kind: "none" }, gateway!, "localhost")).toBe(
        `lo ${gateway} unreachable 127.0.0.1`,
      );
      expect(await runProbe({ kind: "none" }, gateway!, "db.example.org")).toBe(
        `lo ${gateway} unreachable unresolved`,
      );
    });

    it("puts a database job on the database network with DNS blackholed and the database host pinned", async () => {
      const name = `rap-test-db-${randomBytes(4).toString("hex")}`;
      await docker.createNetwork({ Name: name, Internal: true });
      try {
        const network = {
          kind: "database" as const,
          network: name,
          extraHosts: [{ host: "db.test", ip: "10.9.8.7" }],
        };
        expect(await runProbe(network, "10.9.8.7", "db.test")).toBe("eth0,lo 10.9.8.7 unreachable 10.9.8.7");
        const rt = create();
        const job = spec({ code: "pass", network });
        await rt.start(job);
        const info = (await waitForExit(rt, job.name)).metadata as unknown as Docker.ContainerInspectInfo;
        expect(info.HostConfig).toMatchObject({
          NetworkMode: name,
          Dns: ["192.0.2.0"],
          ExtraHosts: ["db.test:10.9.8.7"],
        });
      } finally {
        for (const container of await docker.listContainers({ all: true, filters: { network: [name] } })) {
          await docker.getContainer(container.Id).remove({ force: true });
        }
        await docker.getNetwork(name).remove();
      }
    });
  });

  // Docker records OOMKilled from a kernel event that can land after the exit under heavy load (the reference notes
  // the flag is unreliable): retried, so a load-dependent miss is not a failure while a broken report still is.
  it("reports a job killed for exceeding its memory limit: OOMKilled, exit 137 and the limit", {
    retry: 2,
  }, async () => {
    const rt = create();
    const job = spec({ code: "block = b'x' * (256 * 1024 * 1024)", memoryLimit: "32m" });
    await rt.start(job);
    expect(await waitForExit(rt, job.name)).toMatchObject({
      running: false,
      exitCode: 137,
      oomKilled: true,
      memoryLimitBytes: 32 * 1024 * 1024,
    });
  });

  it("finishes an interrupted start: a created, never started container reads as absent and start runs it", async () => {
    const rt = create();
    const job = spec({ code: "open('ran.txt', 'w').write('yes')" });
    await docker.createContainer({ name: job.name, Image: testImage, Cmd: ["-c", "pass"] });
    expect(await rt.inspect(job.name)).toBeNull();
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
  });

  it("refuses to start a job whose image is not on this backend", async () => {
    const missing = "ghcr.io/opensafely-core/python:no-such-tag";
    await expect(create().start({ ...spec({ code: "pass" }), image: missing })).rejects.toThrow(
      new ImageUnavailableError(`Docker image ${missing} is not available on this backend`),
    );
  });

  it("uses a local tag as it is when no digest is given, and says so when it is missing", async () => {
    const rt = create();
    expect(await rt.ensureImage("ghcr.io/opensafely-core/ehrql:v1", null)).toBe(
      "ghcr.io/opensafely-core/ehrql:v1",
    );
    const error = await rt.ensureImage("ghcr.io/opensafely-core/python:v99", null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageUnavailableError);
    expect((error as Error).message).toBe(
      "Docker image ghcr.io/opensafely-core/python:v99 is not available on this backend",
    );
  });

  it("gives up on a digest the proxy cannot supply, after retrying", async () => {
    // Nothing listens on port 9 of loopback: every pull attempt is refused at once.
    const rt = new DockerRuntime({ socketPath: dockerSocket, proxy: "127.0.0.1:9/opensafely-core" });
    const sha = `sha256:${"0".repeat(64)}`;
    const error = await rt.ensureImage("ghcr.io/opensafely-core/python:v2", sha).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageUnavailableError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Docker image ghcr.io/opensafely-core/python:v2 \\(${sha}\\) is not available on this backend and could not be pulled from 127.0.0.1:9/opensafely-core/python: `,
      ),
    );
    await expect(rt.ensureImage("docker.io/library/python:3", sha)).rejects.toThrow(
      "Docker image docker.io/library/python:3 is not available on this backend: only images from ghcr.io/opensafely-core can be pulled",
    );
  });

  it("answers {} for the labels of an image without labels", async () => {
    expect(await create().imageLabels(testImage)).toEqual({});
  });
});

describe.skipIf(!registryOk)("DockerRuntime pulling by digest from the proxy (a loopback registry)", () => {
  it("pulls a missing image by digest, tags it, and uses the local copy afterwards", async () => {
    const registry = await startRegistry();
    const name = `rap-test-tiny-${randomBytes(4).toString("hex")}`;
    const proxied = `${registry.host}/opensafely-core/${name}`;
    const image = `ghcr.io/opensafely-core/${name}:v1`;
    const scratch = mkdtempSync(join(tmpdir(), "rap-tiny-image-"));
    try {
      // A one-file image, pushed to the registry and then deleted here, so only a real pull can bring it back.
      writeFileSync(join(scratch, "hello.txt"), "hello\n");
      execFileSync("tar", ["-C", scratch, "-cf", join(scratch, "image.tar"), "hello.txt"]);
      await drain(
        await docker.importImage(join(scratch, "image.tar"), {
          repo: proxied,
          tag: "v1",
          changes: ["LABEL org.opencontainers.image.version=v1.2.3"],
        } as Record<string, unknown>),
      );
      const pushed = await drain(await docker.getImage(`${proxied}:v1`).push({ authconfig: {} }));
      const digest = pushed
        .map((event) => (event.aux as { Digest?: string } | undefined)?.Digest)
        .find(Boolean);
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      await docker.getImage(`${proxied}:v1`).remove({ force: true });
      const leftover = (await docker.listImages({ digests: true })).filter((i) =>
        (i.RepoDigests ?? []).some((d) => d.endsWith(`@${digest}`)),
      );
      expect(leftover).toEqual([]);

      const rt = new DockerRuntime({
        socketPath: dockerSocket,
        registry: "ghcr.io/opensafely-core",
        proxy: `${registry.host}/opensafely-core`,
      });
      const reference = await rt.ensureImage(image, digest!);
      expect(reference).toBe(`${proxied}@${digest}`);
      expect(await rt.imageLabels(reference)).toEqual({ "org.opencontainers.image.version": "v1.2.3" });
      // The registry's tag now names the pulled image, for people running docker by hand.
      expect(await rt.ensureImage(image, null)).toBe(image);
      expect((await docker.getImage(image).inspect()).RepoDigests).toContain(`${proxied}@${digest}`);

      await registry.stop();
      expect(await rt.ensureImage(image, digest!)).toBe(`${proxied}@${digest}`);
    } finally {
      await registry.stop();
      // By id, so every tag and digest reference goes (the import, if a later step failed, or the pulled image).
      for (const reference of [`${proxied}:v1`, image]) {
        const found = await docker
          .getImage(reference)
          .inspect()
          .catch(() => null);
        if (found) await docker.getImage(found.Id).remove({ force: true });
      }
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe("DockerRuntime against an unresponsive daemon", () => {
  it("times out every call with RuntimeTimeoutError", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rap-silent-docker-"));
    const socketPath = join(dir, "docker.sock");
    const sockets = new Set<Socket>();
    // Accepts connections and never answers, like a hung daemon.
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const rt = new DockerRuntime({ socketPath, callTimeoutMs: 200 });
      await expect(rt.inspect("os-job-abc")).rejects.toThrow(
        new RuntimeTimeoutError("docker timed out after 0.2s inspecting container os-job-abc"),
      );
      await expect(rt.kill("os-job-abc")).rejects.toBeInstanceOf(RuntimeTimeoutError);
      await expect(rt.ensureImage(testImage, null)).rejects.toBeInstanceOf(RuntimeTimeoutError);
      expect(await rt.ping()).toBe(false);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!dockerOk)("detectRuntime with an engine", () => {
  it("answers docker when the engine answers on the socket", async () => {
    expect(await detectRuntime({ socketPath: dockerSocket })).toBe("docker");
  });
});
