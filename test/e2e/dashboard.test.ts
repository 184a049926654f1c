/**
 * The operator dashboard as an operator meets it, in a real headless browser (Debian's chromium through
 * playwright-core): `rap serve` prints its URL and an operator token; the page asks for the token, keeps it in the
 * tab (never in a URL) and shows the backends, the queue, a RAP's jobs as a graph going from pending (its backend
 * paused with `rap pause`) through running (a job's live log showing) to succeeded. The browser may reach nothing but
 * the server. Screenshots go to test-artifacts/dashboard/ (gitignored).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { launchChromium } from "../support/chromium.js";
import { artifactsDir, chromiumRequirement, requires } from "../support/requirements.js";
import { type GatedServe, startGatedServe } from "./live-support.js";
import { startRap } from "./serve-support.js";

const hasChromium = requires(chromiumRequirement());
const TIMEOUT_MS = 240_000;
const SCREENSHOTS = join(artifactsDir, "dashboard");
const RAP_ID = "dashboard0000001";

describe.skipIf(!hasChromium)("the dashboard in headless Chromium", () => {
  let serve: GatedServe;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const requested: string[] = [];
  const refused: string[] = [];

  beforeAll(async () => {
    serve = await startGatedServe();
    await mkdir(SCREENSHOTS, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), "rap-chromium-"));
    context = await launchChromium(profile, { viewport: { width: 1280, height: 1000 } });
    // Only the server may be reached: anything else (a CDN, a font) would fail the test.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      requested.push(url);
      if (url.startsWith(`${serve.url}/`)) return route.continue();
      refused.push(url);
      return route.abort();
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await serve?.stop();
  });

  const rapCli = async (args: string[]) => {
    const run = startRap(args, { cwd: serve.dir, env: { BACKENDS: "test" } });
    expect(await run.exited, run.output()).toBe(0);
  };
  const node = (action: string) => page.locator(`svg.graph g.node:has(text:text-is("${action}"))`);
  const stateOf = (action: string) => node(action).getAttribute("data-state");
  const waitForState = (action: string, state: string) =>
    expect.poll(() => stateOf(action), { timeout: 60_000, interval: 100 }).toBe(state);

  test("shows a RAP go from pending to succeeded, with a job's live log, after a login with the operator token", {
    timeout: TIMEOUT_MS,
  }, async () => {
    // Held pending: the backend is paused before the RAP arrives.
    await rapCli(["pause", "on", "test"]);
    await serve.createRap(RAP_ID, ["analyse"]);

    expect(serve.server.output()).toContain(`dashboard: ${serve.url}/dashboard/`);
    await page.goto(`${serve.url}/dashboard/`);
    await expect.poll(() => page.locator("#login").isVisible()).toBe(true);
    // A wrong token is refused and the login shown again.
    await page.fill("#token", "not-a-token");
    await page.click("#login-form button");
    await expect.poll(() => page.locator("#login-error").textContent()).toBe("Your token was refused.");
    await page.fill("#token", serve.operatorToken);
    await page.click("#login-form button");

    const backendRow = page.locator("#backends tbody tr").first();
    await expect.poll(() => backendRow.locator("td").first().textContent()).toBe("test");
    await expect.poll(() => backendRow.locator("td").nth(1).textContent()).toBe("paused");
    await expect.poll(() => page.locator("#queues").textContent()).toContain("test: 0 running, 2 queued");

    await page.locator("#raps button", { hasText: RAP_ID }).click();
    await waitForState("prepare", "pending");
    await waitForState("analyse", "pending");
    // The graph's one edge: analyse needs prepare.
    expect(await page.locator("svg.graph path.edge").count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, "1-pending.png"), fullPage: true });

    await rapCli(["pause", "off", "test"]);
    await waitForState("prepare", "running");
    await node("prepare").click();
    await expect.poll(() => page.locator("#job-fields").textContent()).toContain("prepare");
    // The job waits at its gate: its first line is in the page while it runs.
    await expect
      .poll(() => page.locator("#log").textContent(), { timeout: 60_000 })
      .toMatch(/Z prepare before\n/);
    await page.screenshot({ path: join(SCREENSHOTS, "2-running.png"), fullPage: true });

    await serve.release("prepare");
    await waitForState("prepare", "succeeded");
    await expect.poll(() => page.locator("#log").textContent()).toMatch(/Z prepare after\n/);
    await expect
      .poll(() => page.locator("#log").textContent())
      .toContain("# finished: succeeded (succeeded)");
    await waitForState("analyse", "running");
    await serve.release("analyse");
    await waitForState("analyse", "succeeded");
    await expect
      .poll(() => page.locator("#raps button", { hasText: RAP_ID }).textContent())
      .toContain("2 succeeded");
    await page.screenshot({ path: join(SCREENSHOTS, "3-succeeded.png"), fullPage: true });

    // The token stayed in the tab: in sessionStorage, in no URL the page asked for, and nothing left the server.
    expect(await page.evaluate("sessionStorage.getItem('rap-operator-token')")).toBe(serve.operatorToken);
    expect(requested.filter((url) => url.includes(serve.operatorToken))).toEqual([]);
    expect(page.url()).not.toContain(serve.operatorToken);
    expect(refused).toEqual([]);
  });
});
