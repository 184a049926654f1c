/**
 * The whole-system suite with EXECUTOR=slurm: every job a Slurm batch job on the single-host test cluster
 * (scripts/start-test-slurm.sh), running the locally built test image through this machine's Docker engine.
 */
import { requires, slurmRequirement } from "../support/requirements.js";
import { wholeSystemSuite } from "./system-suite.js";

wholeSystemSuite("slurm", requires(await slurmRequirement()));
