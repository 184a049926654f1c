/**
 * Row and column counts of a CSV file with the semantics of Python's `csv.DictReader` over the default `excel`
 * dialect, which is what the reference's level 4 check uses (reference/agent.md §3.8): the header is the first
 * record; blank lines are skipped; quoted fields may hold newlines; the column count is the number of keys in the
 * first data row's dict (distinct header names, plus one when that row has more fields than the header).
 */

export interface CsvShape {
  /** The header record's fields (the DictReader's fieldnames). */
  readonly header: readonly string[];
  readonly rows: number;
  readonly cols: number;
}

/** Python's `csv.field_size_limit()` default: a longer field is a csv.Error. */
const FIELD_SIZE_LIMIT = 131072;

export class CsvParseError extends Error {
  readonly code = "CSV_PARSE_ERROR";
}

/** Throws CsvParseError when Python's reader would fail (bad UTF-8, an over-long field). */
export function csvShape(bytes: Uint8Array): CsvShape {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CsvParseError("not UTF-8");
  }
  const records = csvRecords(text);
  const first = records.next();
  if (first.done) return { header: [], rows: 0, cols: 0 };
  const header = first.value;
  let rows = 0;
  let cols = 0;
  for (const record of records) {
    if (record.length === 0) continue;
    if (rows === 0) cols = new Set(header).size + (record.length > header.length ? 1 : 0);
    rows++;
  }
  return { header, rows, cols };
}

/**
 * Records as Python's csv.reader yields them (excel dialect, `strict=False`): a blank line is an empty record; a
 * quote inside an unquoted field is literal; text after a closing quote joins the field.
 */
function* csvRecords(text: string): Generator<string[]> {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const record: string[] = [];
    let field = "";
    // At the first character of a field (where a quote opens a quoted field); whether this field was quoted.
    let atFieldStart = true;
    let quoted = false;
    let inQuotes = false;
    for (;;) {
      const c = i < n ? text[i]! : null;
      if (inQuotes) {
        if (c === null) throw new CsvParseError("unexpected end of data");
        if (c === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else {
          if (c === '"') inQuotes = false;
          else field += c;
          i++;
        }
      } else if (c === null || c === "\n" || c === "\r") {
        if (c !== null) i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
        // A line with nothing on it is an empty record; anything else ends with its last field.
        if (record.length > 0 || field !== "" || quoted) record.push(field);
        break;
      } else if (c === '"' && atFieldStart) {
        inQuotes = true;
        quoted = true;
        atFieldStart = false;
        i++;
      } else if (c === ",") {
        record.push(field);
        field = "";
        atFieldStart = true;
        quoted = false;
        i++;
      } else {
        field += c;
        atFieldStart = false;
        i++;
      }
      if (field.length > FIELD_SIZE_LIMIT) throw new CsvParseError("field larger than field limit");
    }
    yield record;
  }
}
