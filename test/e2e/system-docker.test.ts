/** The whole-system suite and scenarios §I over the Docker runtime: real containers of the locally built test images. */
import { dockerRequirement, requires } from "../support/requirements.js";
import { integrationScenario } from "./system-integration.js";
import { wholeSystemSuite } from "./system-suite.js";

const docker = requires(await dockerRequirement());
wholeSystemSuite("docker", docker);
integrationScenario("docker", docker);
