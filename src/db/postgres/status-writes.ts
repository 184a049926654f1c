/**
 * Many jobs' status writes on PostgreSQL (src/db/queries/status-writes.ts): the rows read from JSON, typed by the tables'
 * own columns (`json_populate_recordset`), as a create's insert of jobs does (./insert-jobs.ts).
 */
import { applyStatusesWith, NEW_TASK_COLUMNS, STATUS_COLUMNS } from "../queries/status-writes.js";

// The expected status is not a column of job: read beside the row, from the same JSON element.
const UPDATE_STATUS = `update job set ${STATUS_COLUMNS.map((c) => `${c} = v.${c}`).join(", ")}
  from json_array_elements($1::json) as e, json_populate_record(null::job, e) as v
  where job.id = v.id and job.status_code = e ->> 'expected_code'
    and coalesce(job.cancelled, 0) = (e ->> 'expected_cancelled')::int
  returning job.id`;

const INSERT_TASKS = `insert into tasks (${NEW_TASK_COLUMNS.join(", ")})
  select ${NEW_TASK_COLUMNS.map((c) => `r.${c}`).join(", ")}
  from json_populate_recordset(null::tasks, $1) with ordinality as r order by r.ordinality`;

export const applyStatuses = applyStatusesWith({ updateStatus: UPDATE_STATUS, insertTasks: INSERT_TASKS });
