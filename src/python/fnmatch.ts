/** Python's `fnmatch`: shell-style wildcards, as output patterns use them. */

/** One element of a glob: `*`, `?`, a `[...]` set, or a literal character. */
type GlobPart =
  | { kind: "star" }
  | { kind: "any" }
  | { kind: "set"; negate: boolean; ranges: Array<[string, string]> }
  | { kind: "char"; char: string };

/**
 * Python's `fnmatch.fnmatchcase(name, pattern)`: `*` matches anything (including `/`), `?` one character (a code
 * point, as in Python), `[...]` a set (`[!...]` negated, ranges written backwards match nothing); everything else
 * literally. Matched without regular expressions, so a pattern full of stars cannot make it take exponential time.
 */
export function fnmatch(name: string, pattern: string): boolean {
  return fnmatcher(pattern)(name);
}

/** fnmatch with the pattern parsed once, for matching many names against it. */
export function fnmatcher(pattern: string): (name: string) => boolean {
  const parts = globParts(pattern);
  return (name) => matchParts(parts, Array.from(name));
}

function matchParts(parts: GlobPart[], chars: string[]): boolean {
  let n = 0;
  let p = 0;
  let starP = -1;
  let starN = 0;
  while (n < chars.length) {
    const part = parts[p];
    if (part !== undefined && part.kind === "star") {
      starP = p++;
      starN = n;
    } else if (part !== undefined && matchesOne(part, chars[n] as string)) {
      n++;
      p++;
    } else if (starP >= 0) {
      // Let the last star swallow one more character and try again from there.
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (parts[p]?.kind === "star") p++;
  return p === parts.length;
}

function matchesOne(part: GlobPart, char: string): boolean {
  switch (part.kind) {
    case "any":
      return true;
    case "char":
      return part.char === char;
    case "set":
      return part.ranges.some(([from, to]) => from <= char && char <= to) !== part.negate;
    case "star":
      return false;
  }
}

function globParts(pattern: string): GlobPart[] {
  const chars = Array.from(pattern);
  const parts: GlobPart[] = [];
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i] as string;
    i++;
    if (ch === "*") {
      if (parts.at(-1)?.kind !== "star") parts.push({ kind: "star" });
    } else if (ch === "?") {
      parts.push({ kind: "any" });
    } else if (ch === "[") {
      let j = i;
      if (chars[j] === "!") j++;
      if (chars[j] === "]") j++;
      while (j < chars.length && chars[j] !== "]") j++;
      if (j >= chars.length) {
        parts.push({ kind: "char", char: "[" });
      } else {
        parts.push(globSet(chars.slice(i, j)));
        i = j + 1;
      }
    } else {
      parts.push({ kind: "char", char: ch });
    }
  }
  return parts;
}

function globSet(body: string[]): GlobPart {
  const negate = body[0] === "!";
  const members = negate ? body.slice(1) : body;
  const ranges: Array<[string, string]> = [];
  for (let k = 0; k < members.length; k++) {
    const from = members[k] as string;
    const to = members[k + 2];
    if (members[k + 1] === "-" && to !== undefined) {
      ranges.push([from, to]);
      k += 2;
    } else {
      ranges.push([from, from]);
    }
  }
  return { kind: "set", negate, ranges };
}
