/** The whole-system suite and scenarios §I over the local runtime (EXECUTOR=local): jobs are python3 processes here. */
import { existsSync } from "node:fs";
import { requires } from "../support/requirements.js";
import { integrationScenario } from "./system-integration.js";
import { wholeSystemSuite } from "./system-suite.js";

const python = requires({ available: existsSync("/usr/bin/python3"), reason: "/usr/bin/python3 is missing" });
wholeSystemSuite("local", python);
integrationScenario("local", python);
