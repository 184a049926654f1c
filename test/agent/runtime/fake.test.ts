import { describe } from "vitest";
import { FakeRuntime } from "../fake-runtime.js";
import { describeStartRecordConformance } from "./conformance.js";

// The fake runs no programs, so only the part of the contract it can keep: the executor's tests rely on it.
describe("FakeRuntime conformance (start records)", () => {
  const fake = new FakeRuntime();
  describeStartRecordConformance(() => ({
    create: () => fake,
    removeFromOutside: async (name) => fake.vanish(name),
    image: "ghcr.io/opensafely-core/python:v2",
  }));
});
