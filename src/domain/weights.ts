/**
 * Job resource weights (reference/controller.md §3.1): a job's share of its backend's worker capacity, from the INI
 * file `WORKDIR/job-resource-weights_{backend}.ini`. Sections are workspace names, plus `[default]`; each line is
 * `regex = weight`. Parsed the way Python's configparser reads it (`=` the only delimiter, option names lowercased,
 * `#`/`;` comment lines, a repeated option an error). Pure: the caller reads the file.
 */

export interface WeightRule {
  readonly pattern: RegExp;
  readonly weight: number;
}

export interface WeightRules {
  /** Rules per workspace, in file order; matched against the action name. */
  readonly workspaces: ReadonlyMap<string, readonly WeightRule[]>;
  /** `[default]` rules, matched against the job's run command. */
  readonly defaults: readonly WeightRule[];
}

export const NO_WEIGHTS: WeightRules = { workspaces: new Map(), defaults: [] };

export class WeightsSyntaxError extends Error {
  readonly code = "WEIGHTS_INVALID";
}

/** Python's re.fullmatch of the pattern. */
function fullMatch(pattern: string, where: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`, "u");
  } catch (error) {
    throw new WeightsSyntaxError(
      `${where}: '${pattern}' is not a valid regular expression (${(error as Error).message})`,
    );
  }
}

export function parseWeights(text: string): WeightRules {
  const sections = new Map<string, WeightRule[]>();
  const seen = new Map<string, Set<string>>();
  let current: string | null = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `line ${index + 1}`;
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      if (sections.has(current)) throw new WeightsSyntaxError(`${where}: section [${current}] appears twice`);
      sections.set(current, []);
      seen.set(current, new Set());
      return;
    }
    if (current === null) throw new WeightsSyntaxError(`${where}: an option before any [section]`);
    const equals = line.indexOf("=");
    if (equals < 0) throw new WeightsSyntaxError(`${where}: expected 'pattern = weight'`);
    const option = line.slice(0, equals).trim().toLowerCase();
    const value = line.slice(equals + 1).trim();
    if (seen.get(current)!.has(option))
      throw new WeightsSyntaxError(`${where}: '${option}' appears twice in [${current}]`);
    seen.get(current)!.add(option);
    const weight = Number(value);
    if (value === "" || !Number.isFinite(weight) || weight < 0)
      throw new WeightsSyntaxError(`${where}: weight '${value}' is not a number`);
    sections.get(current)!.push({ pattern: fullMatch(option, where), weight });
  });
  const defaults = sections.get("default") ?? [];
  sections.delete("default");
  return { workspaces: sections, defaults };
}

/**
 * A job's weight: the first rule of its workspace's section matching the action name; else the first `[default]`
 * rule matching the run command; else 1.
 */
export function jobWeight(
  rules: WeightRules,
  job: { workspace: string; action: string; runCommand: string },
): number {
  for (const rule of rules.workspaces.get(job.workspace) ?? [])
    if (rule.pattern.test(job.action)) return rule.weight;
  for (const rule of rules.defaults) if (rule.pattern.test(job.runCommand)) return rule.weight;
  return 1;
}
