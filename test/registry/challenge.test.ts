import { describe, expect, test } from "vitest";
import { bearerChallenge, parseChallenges } from "../../src/registry/challenge.js";
import { UnusableAnswerError } from "../../src/registry/http.js";
import { tokenUrl } from "../../src/registry/tokens.js";

describe("bearerChallenge", () => {
  test("ghcr.io's challenge", () => {
    expect(
      bearerChallenge(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:opensafely-core/python:pull"',
      ),
    ).toEqual({
      realm: "https://ghcr.io/token",
      service: "ghcr.io",
      scope: "repository:opensafely-core/python:pull",
    });
  });

  test("quoted commas, escapes, spaces around separators, parameter names in any case", () => {
    expect(
      bearerChallenge(
        'bearer  Realm = "http://127.0.0.1:1/t?a=1,b=2" , scope="repository:a/b:pull,push", error=insufficient_scope, service="say \\"hi\\""',
      ),
    ).toEqual({
      realm: "http://127.0.0.1:1/t?a=1,b=2",
      scope: "repository:a/b:pull,push",
      service: 'say "hi"',
    });
  });

  test("picks Bearer out of several challenges, as when several headers are joined", () => {
    expect(
      bearerChallenge(
        'Basic realm="registry", Negotiate abc/def==, Bearer realm="https://auth.example/token"',
      ),
    ).toEqual({ realm: "https://auth.example/token" });
  });

  test.each([
    [null],
    [""],
    ['Basic realm="registry"'],
    ["Bearer"],
    ['Bearer service="ghcr.io"'],
    ["Bearer realm="],
    ["=,,=\"'"],
  ])("no usable Bearer challenge in %j", (header) => {
    expect(bearerChallenge(header)).toBeUndefined();
  });

  test("an unterminated quote runs to the end of the header", () => {
    expect(bearerChallenge('Bearer realm="https://a.example/t, service=x')).toEqual({
      realm: "https://a.example/t, service=x",
    });
  });
});

describe("parseChallenges", () => {
  test("schemes and parameters in order", () => {
    expect(parseChallenges('Basic realm="r1", Bearer realm="r2",service=s')).toEqual([
      { scheme: "basic", params: { realm: "r1" } },
      { scheme: "bearer", params: { realm: "r2", service: "s" } },
    ]);
  });
});

describe("tokenUrl", () => {
  test("adds service and scope, encoded, keeping the realm's own query", () => {
    expect(
      tokenUrl({
        realm: "https://ghcr.io/token?x=1",
        service: "ghcr.io",
        scope: "repository:opensafely-core/python:pull",
      }),
    ).toBe("https://ghcr.io/token?x=1&service=ghcr.io&scope=repository%3Aopensafely-core%2Fpython%3Apull");
    expect(tokenUrl({ realm: "http://127.0.0.1:8000/token" })).toBe("http://127.0.0.1:8000/token");
  });

  test.each([
    ["not a url", "the registry named a token service that is not a URL"],
    ["file:///etc/passwd", "the registry named a token service that is not http or https"],
  ])("refuses the realm %s", (realm, reason) => {
    expect(() => tokenUrl({ realm })).toThrow(new UnusableAnswerError(reason));
  });
});
