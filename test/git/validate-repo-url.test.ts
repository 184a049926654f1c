import { describe, expect, test } from "vitest";
import { GithubValidationError, validateRepoUrl } from "../../src/git/index.js";

const DEFAULT_ORGS = ["opensafely", "opensafely-actions"];
const notGithub = (url: string) => `Repository URL ${url} does not start with https://github.com`;
const wrongOrg = (url: string, orgs = DEFAULT_ORGS) =>
  `Repository ${url} does not belong to one of the following Github organisations: ${orgs.join(" ")}`;
const badFormat = (url: string) =>
  `Repository ${url} was not of the expected format: https://github.com/[organisation]/[project-name]`;

function messageOf(url: string, orgs: readonly string[] = DEFAULT_ORGS): string | null {
  try {
    validateRepoUrl(url, orgs);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(GithubValidationError);
    expect((error as GithubValidationError).code).toBe("GITHUB_VALIDATION_ERROR");
    return (error as Error).message;
  }
}

describe("validateRepoUrl: the S074 rows", () => {
  test("another host", () => {
    expect(messageOf("https://not-gihub.com/invalid")).toBe(notGithub("https://not-gihub.com/invalid"));
  });
  test("only an organisation", () => {
    expect(messageOf("https://github.com/test", ["test"])).toBe(badFormat("https://github.com/test"));
  });
  test("an organisation that is not allowed", () => {
    expect(messageOf("https://github.com/someorg/repo")).toBe(wrongOrg("https://github.com/someorg/repo"));
  });
  test("a local path (local repos are decided before this check)", () => {
    expect(messageOf("/abs/local/path")).toBe(notGithub("/abs/local/path"));
  });
});

describe("validateRepoUrl: accepted forms", () => {
  test.each([
    "https://github.com/opensafely/study",
    "https://github.com/opensafely/study/",
    "https://github.com/opensafely/study.git",
    "https://github.com/opensafely-actions/cohort-joiner",
  ])("%s", (url) => {
    expect(messageOf(url)).toBeNull();
  });

  test("organisations are matched case-sensitively", () => {
    expect(messageOf("https://github.com/OpenSAFELY/study")).toBe(
      wrongOrg("https://github.com/OpenSAFELY/study"),
    );
  });
});

describe("validateRepoUrl: refused forms", () => {
  test.each([
    ["http://github.com/opensafely/study", notGithub],
    ["https://www.github.com/opensafely/study", notGithub],
    ["https://github.com:443/opensafely/study", notGithub],
    ["ssh://github.com/opensafely/study", notGithub],
    ["file:///opensafely/study", notGithub],
    ["git@github.com:opensafely/study.git", notGithub],
    ["github.com/opensafely/study", notGithub],
    ["opensafely/study", notGithub],
    ["https://github.com", wrongOrg],
    ["https://github.com/", wrongOrg],
    ["https://github.com/opensafely", badFormat],
    ["https://github.com/opensafely/study?ref=main", badFormat],
    ["https://github.com/opensafely/study#readme", badFormat],
    ["https://github.com/opensafely/study/tree/main", badFormat],
    ["https://github.com/opensafely//study", badFormat],
    ["https://github.com//opensafely/study", badFormat],
    ["https://github.com/opensafely/study//", null],
    ["HTTPS://github.com/opensafely/study", badFormat],
    [" https://github.com/opensafely/study", badFormat],
    ["https://github.com/opensafely/../evil/study", badFormat],
  ] as const)("%s", (url, expected) => {
    expect(messageOf(url)).toBe(expected === null ? null : expected(url));
  });

  test("userinfo is refused, and masked in the message", () => {
    const url = "https://ghp_secrettoken@github.com/opensafely/study";
    expect(messageOf(url)).toBe(notGithub("https://********@github.com/opensafely/study"));
    expect(messageOf("https://user:pw@github.com/opensafely/study")).toBe(
      notGithub("https://********@github.com/opensafely/study"),
    );
  });
});
