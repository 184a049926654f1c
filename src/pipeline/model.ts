/** The parsed project, as the rest of the system uses it. */

export const PRIVACY_LEVELS = ["highly_sensitive", "moderately_sensitive", "minimally_sensitive"] as const;
export type PrivacyLevel = (typeof PRIVACY_LEVELS)[number];

export interface RunCommand {
  /** The `run:` string exactly as in the file (a folded block keeps its trailing newline). */
  raw: string;
  /** `raw` split into shell words (Python `shlex.split` rules). */
  parts: string[];
  /** The first word up to its first `:` (e.g. `ehrql`, `ghcr.io/opensafely-core/python`). */
  image: string;
  /** The first word after its first `:` (e.g. `v1`, `latest`). */
  tag: string;
  /** The words after the first. */
  args: string[];
}

export interface Action {
  name: string;
  run: RunCommand;
  /** Action names, in file order, duplicates kept. */
  needs: string[];
  /** Privacy level → output name → path pattern; levels not given are left out, the rest in the fixed order. */
  outputs: Record<string, Record<string, string>>;
  /**
   * The `config:` mapping as JSON-like data. A float with an integral value (`1.0`) is a PythonFloat so that it
   * prints as Python does in the `--config` argument; a date is a PythonOpaque (JSON: its text).
   */
  config: Record<string, unknown> | null;
  dummyDataFile: string | null;
  /** Whether the action reads the database (decides `requires_db`). */
  isDatabaseAction: boolean;
}

export interface Expectations {
  population_size: number;
}

export interface Pipeline {
  version: number;
  /** `{population_size: 1000}` below version 4 (from the file in version 3), null from version 4. */
  expectations: Expectations | null;
  /** Action names in file order, without a user-defined `run_all`. */
  allActions: string[];
  /** Every action in file order (a user-defined `run_all` before version 5 included). */
  actions: Map<string, Action>;
  /** `ProjectWarning: …` texts, as the reference emits them. */
  warnings: string[];
}
