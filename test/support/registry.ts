/**
 * A real Docker registry for tests: Debian's `docker-registry` (the CNCF distribution registry) on 127.0.0.1 with a
 * port of its own choosing and a temp storage directory, and image pushes through the OCI distribution HTTP API, so
 * no Docker daemon is needed. Docker treats a loopback registry as insecure (plain http) without configuration, so
 * `docker pull <host>/<repo>:<tag>` works against it too.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { createTempDir, removeDir } from "./git-fixtures.js";
import { REGISTRY_BINARY } from "./requirements.js";

export interface LocalRegistry {
  /** `127.0.0.1:<port>`: prefix it to a repository path for DOCKER_REGISTRY (`127.0.0.1:5000/opensafely-core`). */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops the registry and deletes its storage. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Starts a registry that listens on a free loopback port; rejects with its output if it does not come up. */
export async function startRegistry(): Promise<LocalRegistry> {
  const dir = await createTempDir("rap-registry-");
  const config = join(dir, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: info",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "storage")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      "  addr: 127.0.0.1:0",
      "",
    ].join("\n"),
  );
  const child = spawn(REGISTRY_BINARY, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    running.delete(child);
    await removeDir(dir);
  };
  try {
    const host = await listeningAddress(child);
    return { host, url: `http://${host}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The registry logs `listening on 127.0.0.1:<port>` once its socket is open (addr :0 lets the kernel pick). */
function listeningAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail("did not start listening within 20 s"), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        cleanup();
        resolve(match[1]!);
      }
    };
    const onExit = (code: number | null) => fail(`exited with ${code}`);
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`docker-registry ${why}:\n${output}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

export interface ImageContent {
  /** Uncompressed tar layers, bottom first (see tarLayer). */
  readonly layers: readonly Uint8Array[];
  /** The image config's `config` section (Env, Cmd, Entrypoint, Labels, …). */
  readonly config?: Record<string, unknown>;
}

export interface PushedImage {
  /** `sha256:<hex>` of the manifest bytes, as the registry serves them. */
  readonly digest: string;
  readonly manifest: string;
}

/**
 * Pushes an OCI image (config blob, layer blobs, then the manifest under `tag`) the way `docker push` does, and
 * returns the manifest digest computed here, checked against the one the registry reports.
 */
export async function pushImage(
  registryUrl: string,
  repository: string,
  tag: string,
  content: ImageContent,
): Promise<PushedImage> {
  const layers = await Promise.all(
    content.layers.map(async (layer) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      ...(await pushBlob(registryUrl, repository, layer)),
    })),
  );
  const imageConfig = {
    architecture: "amd64",
    os: "linux",
    config: content.config ?? {},
    rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.digest) },
  };
  const config = {
    mediaType: "application/vnd.oci.image.config.v1+json",
    ...(await pushBlob(registryUrl, repository, Buffer.from(JSON.stringify(imageConfig)))),
  };
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config,
    layers,
  });
  const digest = await putManifest(
    registryUrl,
    repository,
    tag,
    "application/vnd.oci.image.manifest.v1+json",
    manifest,
  );
  return { digest, manifest };
}

/** PUTs a manifest (an image manifest or an index) under `tag`; returns its digest, checked against the registry's. */
export async function putManifest(
  registryUrl: string,
  repository: string,
  tag: string,
  mediaType: string,
  manifest: string,
): Promise<string> {
  const digest = sha256(Buffer.from(manifest));
  const response = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": mediaType },
    body: manifest,
  });
  await expectStatus(response, 201, `manifest ${repository}:${tag}`);
  const reported = response.headers.get("docker-content-digest");
  if (reported !== digest) throw new Error(`registry reports digest ${reported}, computed ${digest}`);
  return digest;
}

/** Monolithic upload: POST opens an upload session, PUT to its Location with `?digest=` sends the bytes. */
async function pushBlob(
  registryUrl: string,
  repository: string,
  bytes: Uint8Array,
): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  await expectStatus(start, 202, `blob upload to ${repository}`);
  const location = new URL(start.headers.get("location") ?? "", registryUrl);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: bytes,
  });
  await expectStatus(put, 201, `blob ${digest}`);
  return { digest, size: bytes.byteLength };
}

/** A deterministic uncompressed tar of the files (paths relative to the image root; mode 0755 if executable). */
export async function tarLayer(
  files: Readonly<Record<string, string | Uint8Array | { content: string | Uint8Array; executable: true }>>,
): Promise<Buffer> {
  const dir = await createTempDir("rap-layer-");
  try {
    for (const [path, file] of Object.entries(files)) {
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true });
      const executable = typeof file === "object" && "executable" in file;
      await writeFile(target, executable ? file.content : file);
      await chmod(target, executable ? 0o755 : 0o644);
    }
    const { stdout } = await promisify(execFile)(
      "tar",
      ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "-C", dir, "."],
      { encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    await removeDir(dir);
  }
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  const body = await response.text();
  if (response.status !== status) throw new Error(`${what}: HTTP ${response.status} ${body}`);
}
