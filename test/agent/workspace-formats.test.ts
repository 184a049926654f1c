import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { redactResults } from "../../src/agent/redact.js";
import { statusMessage } from "../../src/agent/status-message.js";
import { jobSummary, table } from "../../src/agent/workspace/logs.js";
import {
  type Manifest,
  type ManifestEntry,
  readManifest,
  updateManifest,
  writeManifest,
} from "../../src/agent/workspace/manifest.js";
import { METADATA_DEFAULTS, redactContainerMetadata } from "../../src/agent/workspace/metadata.js";
import { safeRelativePath, safeSegment } from "../../src/agent/workspace/paths.js";

describe("logs.txt summary", () => {
  test("the reference's layout: falsy values skipped, tables padded, trailing spaces kept", () => {
    const text = jobSummary({
      job_definition_id: "abc",
      job_definition_rap_id: "rap",
      commit: "c0ffee",
      docker_image_id: "sha256:x",
      exit_code: "0",
      created_at: 1700000000,
      completed_at: 1700000100,
      database_name: null,
      status_message: "Completed successfully",
      hint: null,
      outputs: { "output/longer_name.csv": "highly_sensitive", "output/a.csv": "moderately_sensitive" },
      level4_excluded_files: { "output/a.csv": "File has patient_id column" },
    });
    expect(text).toBe(
      "\n=============JOB SUMMARY=============\n" +
        "job_definition_id: abc\njob_definition_rap_id: rap\ncommit: c0ffee\ndocker_image_id: sha256:x\n" +
        "exit_code: 0\ncreated_at: 1700000000\ncompleted_at: 1700000100\nstatus_message: Completed successfully\n" +
        "\noutputs:\n" +
        "  output/a.csv            - moderately_sensitive\n" +
        "  output/longer_name.csv  - highly_sensitive    " +
        "\n\nInvalid moderately_sensitive outputs:\n" +
        "  output/a.csv  - File has patient_id column" +
        "\n",
    );
  });

  test("no outputs", () => {
    expect(table({})).toBe("  (no outputs)");
    expect(jobSummary({ exit_code: "1", outputs: {} })).toBe(
      "\n=============JOB SUMMARY=============\nexit_code: 1\n\noutputs:\n  (no outputs)\n",
    );
  });
});

describe("status messages", () => {
  const base = {
    exitCode: 0 as number | null,
    oomKilled: false,
    memoryLimitBytes: 0,
    cancelled: false,
    errored: false,
    outputCount: 1,
    unmatchedPatterns: [] as string[],
    unmatchedOutputs: [] as string[],
  };
  test.each<[Partial<typeof base>, string | null, string | null]>([
    [{}, "Completed successfully", null],
    [{ outputCount: 0 }, null, null],
    [{ exitCode: 1 }, null, null],
    [
      { outputCount: 0, unmatchedPatterns: ["a/*.csv", "b.txt"], unmatchedOutputs: ["x", "y"] },
      "\n  No outputs found matching patterns:\n - a/*.csv\n   - b.txt",
      "\n  Did you mean to match one of these files instead?\n - x\n   - y",
    ],
    [{ exitCode: 137, cancelled: true }, "Job cancelled by system", null],
    [
      { exitCode: 137, oomKilled: true, memoryLimitBytes: 6 * 1024 * 1024 },
      "Job ran out of memory (limit was 0.01GB)",
      null,
    ],
    [
      { exitCode: 137, oomKilled: true, memoryLimitBytes: 2 ** 27 },
      "Job ran out of memory (limit was 0.12GB)",
      null,
    ],
    [{ exitCode: 137, oomKilled: true }, "Job ran out of memory", null],
    [{ exitCode: 137 }, "Job killed by OpenSAFELY admin or memory limits", null],
    [{ exitCode: null, cancelled: true }, "Job cancelled by system", null],
    [{ exitCode: null, errored: true }, "Job errored", null],
  ])("%j", (ending, message, hint) => {
    expect(statusMessage({ ...base, ...ending })).toEqual({ message, hint });
  });
});

describe("redaction", () => {
  test("results: file lists removed, flags added, message and hint blanked when patterns are unmatched", () => {
    expect(
      redactResults({
        status_message: "\n  No outputs found matching patterns:\n - secret_name.csv",
        hint: "h",
        exit_code: "0",
        outputs: { "a.csv": "highly_sensitive" },
        unmatched_patterns: ["secret_name.csv"],
        unmatched_outputs: [],
        level4_excluded_files: {},
      }),
    ).toEqual({
      status_message: "",
      hint: "",
      exit_code: "0",
      has_unmatched_outputs: false,
      has_unmatched_patterns: true,
      has_level4_excluded_files: false,
    });
    expect(
      redactResults({
        status_message: "Completed successfully",
        hint: null,
        outputs: {},
        unmatched_patterns: [],
        unmatched_outputs: [],
        level4_excluded_files: { "a.csv": "File has patient_id column" },
      }),
    ).toEqual({
      status_message: "Completed successfully",
      hint: null,
      has_unmatched_outputs: false,
      has_unmatched_patterns: false,
      has_level4_excluded_files: true,
    });
    expect(redactResults({})).toEqual({});
    expect(redactResults(null)).toBeNull();
  });

  test("container env: values redacted except the safe list", () => {
    const original = {
      Config: { Env: ["PATH=/bin", "DATABASE_URL=mssql://x", "HOME=/tmp", "TZ=UTC", "NOEQ"] },
    };
    expect(redactContainerMetadata(original)).toEqual({
      Config: {
        Env: [
          "PATH=/bin",
          "DATABASE_URL=xxxx-REDACTED-xxxx",
          "HOME=xxxx-REDACTED-xxxx",
          "TZ=UTC",
          "NOEQ=xxxx-REDACTED-xxxx",
        ],
      },
    });
    expect(original.Config.Env[1]).toBe("DATABASE_URL=mssql://x");
  });

  test("metadata defaults cover the reference's keys", () => {
    expect(Object.keys(METADATA_DEFAULTS).sort()).toEqual(
      [
        "hint",
        "unmatched_patterns",
        "unmatched_outputs",
        "timestamp_ns",
        "action_version",
        "action_revision",
        "action_created",
        "base_revision",
        "base_created",
        "level4_excluded_files",
        "cancelled",
        "error",
        "job_metrics",
        "user",
      ].sort(),
    );
  });
});

describe("path safety", () => {
  test.each(["../../evil", "a/b", "x\0y", "..", ".", "", "a\\b", "x".repeat(201)])(
    "segment %j refused",
    (name) => {
      expect(() => safeSegment(name, "workspace")).toThrow(/Unsafe workspace name/);
    },
  );
  test.each([
    ["output/a.csv", "output/a.csv"],
    ["./output//a.csv", "output/a.csv"],
    ["ehrql-qu'ote.csv", "ehrql-qu'ote.csv"],
  ])("relative path %j → %j", (path, expected) => {
    expect(safeRelativePath(path, "output path")).toBe(expected);
  });
  test.each(["../x", "a/../../x", "/etc/passwd", "a\0b", "", ".", "a\\..\\b"])(
    "relative path %j refused",
    (path) => {
      expect(() => safeRelativePath(path, "output path")).toThrow(/Unsafe output path/);
    },
  );
});

describe("manifest", () => {
  const entry = (action: string, extra: Partial<ManifestEntry> = {}): ManifestEntry => ({
    level: "moderately_sensitive",
    job_id: "j",
    job_request: "r",
    action,
    user: null,
    repo: "/repo",
    commit: "c",
    size: 1,
    timestamp: 1.5,
    content_hash: "h",
    excluded: false,
    message: null,
    row_count: null,
    col_count: null,
    ...extra,
  });

  test("out-of-date flags as the reference sets them (S39)", () => {
    const manifest: Manifest = {
      workspace: "ws",
      repo: null,
      outputs: {
        "old.csv": entry("analyse_data_ehrql"),
        "kept.csv": entry("analyse_data_ehrql"),
        "gone.csv": entry("removed_action"),
        "back.csv": entry("other", { out_of_date_action: true }),
      },
    };
    const updated = updateManifest(
      manifest,
      "analyse_data_ehrql",
      { "kept.csv": entry("analyse_data_ehrql", { job_id: "new" }), "new.csv": entry("analyse_data_ehrql") },
      ["analyse_data_ehrql", "other"],
    );
    expect(Object.keys(updated.outputs)).toEqual(["old.csv", "kept.csv", "gone.csv", "back.csv", "new.csv"]);
    expect(updated.outputs["old.csv"]).toMatchObject({ out_of_date_action: false, out_of_date_output: true });
    expect(updated.outputs["kept.csv"]).toEqual(entry("analyse_data_ehrql", { job_id: "new" }));
    expect(updated.outputs["new.csv"]!.out_of_date_output).toBeUndefined();
    expect(updated.outputs["gone.csv"]).toMatchObject({ out_of_date_action: true });
    expect(updated.outputs["back.csv"]).toMatchObject({ out_of_date_action: false });
    expect(manifest.outputs["old.csv"]!.out_of_date_output).toBeUndefined();
  });

  test("project.yaml unreadable: no out_of_date_action keys", () => {
    const updated = updateManifest(
      { workspace: "ws", repo: null, outputs: { "a.csv": entry("x") } },
      "y",
      {},
      null,
    );
    expect(updated.outputs["a.csv"]).toEqual(entry("x"));
  });

  describe("files", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "rap-manifest-"));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    test("a missing manifest starts empty; written with 2-space indent and no leftover temp file", async () => {
      const path = join(dir, "metadata", "manifest.json");
      const manifest = await readManifest(path, "ws");
      expect(manifest).toEqual({ workspace: "ws", repo: null, outputs: {} });
      await writeManifest(path, manifest);
      expect(await readFile(path, "utf8")).toBe(
        '{\n  "workspace": "ws",\n  "repo": null,\n  "outputs": {}\n}',
      );
      expect(await readdir(join(dir, "metadata"))).toEqual(["manifest.json"]);
    });
  });
});
