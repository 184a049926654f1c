/**
 * Benchmarks write their measurements into docs/benchmarks.md between markers named after their npm script
 * (`<!-- bench:api: written by `npm run bench:api` -->` … `<!-- /bench:api -->`); the analysis around them is written
 * by hand. Without the markers, a section with them is added at the end under `title`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const DOCS = join(resolve(import.meta.dirname, ".."), "docs", "benchmarks.md");

export function writeDocsSection(script: string, title: string, measured: string): void {
  const startMark = `<!-- ${script}: written by \`npm run ${script}\` -->`;
  const endMark = `<!-- /${script} -->`;
  const current = existsSync(DOCS) ? readFileSync(DOCS, "utf8") : "# Benchmarks\n";
  const block = `${startMark}\n${measured}\n${endMark}`;
  const start = current.indexOf(startMark);
  const end = current.indexOf(endMark);
  const next =
    start === -1 || end < start
      ? `${current.trimEnd()}\n\n## ${title}\n\n${block}\n`
      : current.slice(0, start) + block + current.slice(end + endMark.length);
  writeFileSync(DOCS, next);
}
