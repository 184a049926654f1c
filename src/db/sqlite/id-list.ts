import { type RawBuilder, sql } from "kysely";

/**
 * `(select value from json_each(?))`: a list of ids as one parameter, so `column in anyOf(ids)` is one statement
 * however many ids there are (a list of placeholders would need a statement per 500). SQLite's json_each;
 * PostgreSQL's form is `= any($1)`.
 */
export function anyOf(ids: readonly string[]): RawBuilder<string> {
  return sql<string>`(select value from json_each(${JSON.stringify(ids)}))`;
}
