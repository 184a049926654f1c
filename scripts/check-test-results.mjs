// Reads vitest's JSON report and fails when any test failed or was skipped (CI provides every dependency, so a
// skip there means a dependency silently went missing). Prints the plain "N passed, N failed, N skipped" line.
import { readFileSync } from "node:fs";

const report = JSON.parse(readFileSync(process.argv[2] ?? "test-results.json", "utf8"));
const passed = report.numPassedTests;
const failed = report.numFailedTests;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0 || skipped > 0 || passed === 0 || !report.success) process.exit(1);
