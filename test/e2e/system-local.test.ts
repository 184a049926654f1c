/** The whole-system suite over the local runtime (EXECUTOR=local): jobs are python3 processes on this machine. */
import { existsSync } from "node:fs";
import { requires } from "../support/requirements.js";
import { wholeSystemSuite } from "./system-suite.js";

wholeSystemSuite(
  "local",
  requires({ available: existsSync("/usr/bin/python3"), reason: "/usr/bin/python3 is missing" }),
);
