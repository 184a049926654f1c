/** The whole-system suite over the Docker runtime: real containers of the locally built test images. */
import { dockerRequirement, requires } from "../support/requirements.js";
import { wholeSystemSuite } from "./system-suite.js";

wholeSystemSuite("docker", requires(await dockerRequirement()));
