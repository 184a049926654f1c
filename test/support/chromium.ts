/** Debian's chromium, driven through playwright-core, as the dashboard's test and its benchmark run it. */
import { type BrowserContext, chromium, type LaunchOptions } from "playwright-core";
import { CHROMIUM_BINARY } from "./requirements.js";

/**
 * Headless, with a fresh profile in `profileDir`. The flags keep Chromium from reaching out on its own (background
 * networking, component updates, sync, QUIC): this machine's network is closed, and nothing may leave it anyway.
 */
export function launchChromium(
  profileDir: string,
  options: Omit<Parameters<typeof chromium.launchPersistentContext>[1], keyof LaunchOptions> = {},
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    ...options,
    executablePath: CHROMIUM_BINARY,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
