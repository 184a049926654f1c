/**
 * The level 4 checks on a `moderately_sensitive` output (reference/agent.md §3.8): size, file type, and for CSV
 * files a `patient_id` column and the row limit. Messages are the reference's, character for character (typos
 * included): researchers and output checkers read them, and the short ones land in the manifest.
 */

import { pyRound2Repr } from "../../python/float.js";
import { pathSuffix } from "../../python/posix-path.js";
import { CsvParseError, csvShape } from "./csv-shape.js";

export interface Level4Limits {
  readonly maxFilesize: number;
  readonly maxCsvRows: number;
  readonly fileTypes: readonly string[];
}

export interface Level4Result {
  /** Short reasons joined with `,`; null when the file may go to level 4. */
  readonly shortMessage: string | null;
  /** The long text written to `{file}.txt` in its place; null when allowed. */
  readonly longMessage: string | null;
  readonly rowCount: number | null;
  readonly colCount: number | null;
}

/**
 * Checks one file. `read` is called only for a CSV file within the size limit (so a huge file is never read).
 */
export async function checkLevel4(
  filename: string,
  size: number,
  limits: Level4Limits,
  read: () => Promise<Uint8Array>,
): Promise<Level4Result> {
  const suffix = pathSuffix(filename);
  const reasons: Array<[string, string]> = [];
  let rowCount: number | null = null;
  let colCount: number | null = null;
  if (size > limits.maxFilesize) {
    reasons.push([
      `File size of ${mb(size)}Mb is larger that limit of ${mb(limits.maxFilesize)}Mb.`,
      sizeMessage(filename, mb(size), mb(limits.maxFilesize)),
    ]);
  } else if (!limits.fileTypes.includes(suffix)) {
    reasons.push([`File type of ${suffix} is not valid level 4 file`, typeMessage(filename, suffix)]);
  } else if (suffix === ".csv") {
    try {
      const shape = csvShape(await read());
      rowCount = shape.rows;
      colCount = shape.cols;
      if (shape.header.includes("patient_id")) {
        reasons.push(["File has patient_id column", patientIdMessage(filename)]);
      }
      if (shape.rows > limits.maxCsvRows) {
        reasons.push([
          `File row count (${shape.rows}) exceeds maximum allowed rows (${limits.maxCsvRows})`,
          rowsMessage(filename, shape.rows, limits.maxCsvRows),
        ]);
      }
    } catch (error) {
      // As in the reference, a file that cannot be parsed is neither counted nor excluded.
      if (!(error instanceof CsvParseError)) throw error;
    }
  }
  if (reasons.length === 0) return { shortMessage: null, longMessage: null, rowCount, colCount };
  return {
    shortMessage: reasons.map(([short]) => short).join(","),
    longMessage: reasons.map(([, long]) => long).join("\n\n"),
    rowCount,
    colCount,
  };
}

/** Bytes as MiB, `round(x, 2)` printed as Python prints a float (`1.0`, `0.5`, `16.21`). */
export function mb(bytes: number): string {
  return pyRound2Repr(bytes / (1024 * 1024));
}

function sizeMessage(filename: string, size: string, limit: string): string {
  return `
The file:

${filename}

was ${size}Mb, which is above the limit for moderately_sensitive files of
${limit}Mb.

As such, it has *not* been copied to Level 4 storage. Please double check that
${filename} contains only aggregate information, and is an appropriate size to
be able to be output checked.
`;
}

function typeMessage(filename: string, suffix: string): string {
  return `
The file:

${filename}

is of type ${suffix}. This is not a valid file type for moderately_sensitive files.

Level 4 files should be aggregate information easily viewable by output checkers.

See available list of file types here: https://docs.opensafely.org/requesting-file-release/#allowed-file-types.
`;
}

function patientIdMessage(filename: string): string {
  return `
The file:

${filename}

has not been made available in level 4 because it has a \`patient_id\` column.

Patient level data is not allowed by policy in level 4.

You should change this file's privacy to \`highly_sensitive\` in your
project.yaml. Or, if is aggregrate data, you should remove the patient_id
column from your data.

`;
}

function rowsMessage(filename: string, rows: number, limit: number): string {
  return `
The file:

${filename}

contained ${rows} rows, which is above the limit for moderately_sensitive files of
${limit} rows.

As such, it has *not* been copied to Level 4 storage. Please contact tech-support for
further assistance.
`;
}
