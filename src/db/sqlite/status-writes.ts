/** Many jobs' status writes on SQLite (src/db/queries/status-writes.ts): the rows read from JSON with `json_each`. */
import { applyStatusesWith, NEW_TASK_COLUMNS, STATUS_COLUMNS } from "../queries/status-writes.js";

const field = (column: string) => `v.value ->> '${column}'`;

const UPDATE_STATUS = `update job set ${STATUS_COLUMNS.map((c) => `${c} = ${field(c)}`).join(", ")}
  from json_each(?) as v
  where job.id = ${field("id")} and job.status_code = ${field("expected_code")}
    and coalesce(job.cancelled, 0) = ${field("expected_cancelled")}
  returning job.id`;

// json_each walks the array in order (its `key`): tasks are numbered (seq) in the order given.
const INSERT_TASKS = `insert into tasks (${NEW_TASK_COLUMNS.join(", ")})
  select ${NEW_TASK_COLUMNS.map(field).join(", ")} from json_each(?) as v order by v.key`;

export const applyStatuses = applyStatusesWith({ updateStatus: UPDATE_STATUS, insertTasks: INSERT_TASKS });
