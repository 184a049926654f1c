/**
 * Every corpus file (real project.yaml files and the hand-written vectors) against what the reference library
 * returned for it: same accept/reject decision, same message, same parsed actions. The only differences allowed
 * are listed in INTENDED with the reason, and our behaviour there is pinned exactly.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkProject, formatCheckJson } from "../../src/pipeline/index.js";
import { corpusDir, corpusRequirement, requires } from "../support/requirements.js";

const ok = requires(corpusRequirement());

interface Intended {
  why: string;
  /** Our `error` text for the file. */
  error: string;
}

const INTEGER_NEEDS =
  "Invalid project: \n`needs` section for action 2017_ckd must list action names as strings, but contains 2017 (quote names that look like numbers)";

/** Where we deliberately differ from the reference. */
const INTENDED: Record<string, Intended> = {
  "projects/ckd-healthcare-use.yaml": {
    why: "the reference crashes (TypeError) on an integer in `needs`",
    error: INTEGER_NEEDS,
  },
  "vectors/101-needs-integer.yaml": {
    why: "the reference crashes (TypeError) on an integer in `needs`",
    error: INTEGER_NEEDS,
  },
  "vectors/005-version-too-new.yaml": {
    why: "the reference raises a bare ValueError; we raise a validation error with the same text",
    error: "Invalid project: \nThe latest version is v5, but got v6.0",
  },
  "vectors/089-run-unclosed-quote.yaml": {
    why: "the reference crashes (ValueError from shlex)",
    error: "Invalid project: \n`run` section for action a cannot be split into words: No closing quotation",
  },
  "vectors/090-run-whitespace-only.yaml": {
    why: "the reference crashes (IndexError); a blank run is reported like an empty one",
    error: "Invalid project: \nrun must have a value, a has an empty run key",
  },
  "vectors/138-yaml-empty-file.yaml": {
    why: "the reference crashes (TypeError) on an empty document",
    error: "Invalid project: \nProject file is empty: it must be a dictionary of key/value pairs",
  },
  "vectors/139-yaml-top-level-list.yaml": {
    why: "the reference crashes (TypeError) when the document is not a mapping",
    error: "Invalid project: \nProject file must be a dictionary of key/value pairs",
  },
  "vectors/143-action-id-key-collision.yaml": {
    why: "the reference crashes (TypeError) on an `action_id` key; it is an unexpected parameter like any other",
    error: "Invalid project: \nUnexpected parameters (action_id) in action a",
  },
  "vectors/098-needs-self-cycle.yaml": {
    why: "the reference accepts dependency cycles (job planning then never ends); we reject them",
    error: "Invalid project: \nActions depend on each other in a cycle through their `needs`: a -> a",
  },
  "vectors/099-needs-two-cycle.yaml": {
    why: "the reference accepts dependency cycles (job planning then never ends); we reject them",
    error: "Invalid project: \nActions depend on each other in a cycle through their `needs`: a -> b -> a",
  },
};

// The reference lists these directories from a hash set, in an order that changes between runs.
const UNSTABLE_ORDER = "generate_cohort command should produce output in only one directory, found";

function corpusFiles(): string[] {
  if (!ok) return [];
  return ["projects", "vectors"].flatMap((folder) =>
    readdirSync(join(corpusDir, folder))
      .filter((name) => name.endsWith(".yaml"))
      .sort()
      .map((name) => `${folder}/${name}`),
  );
}

const files = corpusFiles();

type Json = Record<string, unknown>;

function expectedFor(file: string): Json {
  return JSON.parse(readFileSync(join(corpusDir, file.replace(/\.yaml$/, ".expected.json")), "utf8")) as Json;
}

function ours(file: string): Json {
  return JSON.parse(formatCheckJson(checkProject(readFileSync(join(corpusDir, file))))) as Json;
}

function firstLine(value: unknown): unknown {
  return typeof value === "string" ? value.split("\n")[0] : value;
}

describe.skipIf(!ok)("the corpus, compared with the reference's results", () => {
  it("has the files the corpus README describes", () => {
    expect(files.filter((file) => file.startsWith("projects/")).length).toBe(125);
    expect(files.filter((file) => file.startsWith("vectors/")).length).toBe(146);
  });

  it.each(files.filter((file) => !(file in INTENDED)))("%s gives the reference's result", (file) => {
    const expected = expectedFor(file);
    const actual = ours(file);
    if (typeof expected.message === "string" && expected.message.startsWith(UNSTABLE_ORDER)) {
      for (const key of ["error", "message"]) {
        expect(firstLine(actual[key])).toBe(firstLine(expected[key]));
        actual[key] = expected[key];
      }
    }
    expect(actual).toEqual(expected);
  });

  it.each(Object.entries(INTENDED))("%s differs on purpose", (file, intended) => {
    const expected = expectedFor(file);
    const actual = ours(file);
    expect(intended.why).not.toBe("");
    expect(actual.ok).toBe(false);
    expect(actual.error_type).toBe("ProjectValidationError");
    expect(actual.kind).toBe("validation");
    expect(actual.error).toBe(intended.error);
    expect(actual.warnings).toEqual(expected.warnings);
    // Either the reference crashed (any error type but ProjectValidationError) or, for cycles, accepted the file.
    if (expected.ok === false) expect(expected.error_type).not.toBe("ProjectValidationError");
    else expect(intended.error).toContain("cycle");
  });

  it("lists only files that exist", () => {
    for (const file of Object.keys(INTENDED)) expect(files).toContain(file);
  });
});
