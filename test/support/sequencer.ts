/**
 * The order test files start in (vitest.config.ts): the longest first, whatever their project, so that no long file
 * starts near the end and runs on alone while the other workers idle. Vitest's own order runs one project's files
 * before the next project's. A file's length is its duration in the previous run (vitest's cache), or, without one
 * (a fresh clone, as in CI), an estimate by folder.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Where the whole-system tests live: without a previous run's figure, a file here is taken to be long. */
const LONG_FOLDERS = ["test/e2e/", "test/agent/runtime/", "test/cli/"];
const LONG_ESTIMATE_MS = 60_000;
const SHORT_ESTIMATE_MS = 1_000;

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const length = (spec: TestSpecification): number => {
      const file = relative(root, spec.moduleId);
      const previous = this.ctx.cache.getFileTestResults(`${spec.project.name}:${file}`);
      if (previous) return previous.duration;
      return LONG_FOLDERS.some((folder) => file.startsWith(folder)) ? LONG_ESTIMATE_MS : SHORT_ESTIMATE_MS;
    };
    const lengths = new Map(files.map((spec) => [spec, length(spec)]));
    return [...files].sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
        lengths.get(b)! - lengths.get(a)!,
    );
  }
}
