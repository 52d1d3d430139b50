// Debian's chromium, headless, driven by puppeteer-core (npm): pages of the server under test seen
// as a person's browser sees them. Requests to other hosts (a page's web fonts and icon sheets
// from CDNs) are answered empty at once: the tests run without a network, and must not wait on one.
//
// CHROMIUM overrides the browser binary (default /usr/bin/chromium).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";
import { killOnExit } from "./processes.mjs";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/**
 * Starts chromium with a fresh profile. Returns { browser, newPage(), close() }; newPage() opens a
 * tab that only reaches 127.0.0.1 and localhost, and records the page's console errors in
 * page.errors.
 */
export async function startBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (make test-deps)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "herald-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // Root in a container has no user namespace for chromium's sandbox.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  const child = browser.process();
  if (child) killOnExit(child);
  return {
    browser,
    async newPage() {
      const page = await browser.newPage();
      page.errors = [];
      page.on("pageerror", (error) => page.errors.push(String(error)));
      await page.setRequestInterception(true);
      page.on("request", (request) => {
        const host = new URL(request.url()).hostname;
        if (host === "127.0.0.1" || host === "localhost") request.continue();
        else request.respond({ status: 204, body: "" });
      });
      return page;
    },
    async close() {
      await browser.close().catch(() => child?.kill("SIGKILL"));
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
