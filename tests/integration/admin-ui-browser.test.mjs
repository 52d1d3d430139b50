// The Admin UI's own page, served by herald at /admin/, in Debian's chromium (puppeteer-core): a
// person opens http://host:port/admin/, logs in, and sees the server with its connected clients.
// A screenshot of each step is kept in a temporary folder (its path is printed).

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { io } from "socket.io-client";
import { startBrowser } from "./lib/browser.mjs";
import { NSP, call, startHerald } from "./lib/herald.mjs";
import { waitForEvent } from "./lib/wait.mjs";

const USER = "admin";
const PASSWORD = "browser-pass";
const SHOTS = fs.mkdtempSync(path.join(os.tmpdir(), "herald-admin-ui-"));

let server;
let browser;
const clients = [];

before(async () => {
  server = await startHerald(["--admin-ui", "true", "--admin-user", USER, "--admin-password", PASSWORD]);
  browser = await startBrowser();
});
after(async () => {
  clients.forEach((c) => c.disconnect());
  await browser?.close();
  await server?.stop();
  console.log(`admin UI screenshots: ${SHOTS}`);
});

async function shot(page, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

it("opens at /admin/, logs in and shows the server with its clients", { timeout: 60_000 }, async () => {
  for (let i = 0; i < 2; i++) {
    const c = io(`${server.url}${NSP}`, { forceNew: true, reconnection: false, transports: ["websocket"] });
    clients.push(c);
    await waitForEvent(c, "connect", { failOn: ["connect_error"] });
  }
  const pid = (await call(server, "/health", undefined, { method: "GET" })).json.pid;
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(`${server.url}/admin/`, { waitUntil: "load" });

  // The connection dialog: server URL, user name, password (the UI's own form).
  const form = ".v-dialog form";
  await page.waitForSelector(`${form} input`, { visible: true, timeout: 15_000 });
  const inputs = await page.$$(`${form} input[type="text"], ${form} input[type="password"]`);
  assert.ok(inputs.length >= 3, `the login form has ${inputs.length} text fields`);
  await inputs[0].click({ clickCount: 3 });
  await inputs[0].type(server.url);
  await inputs[1].type(USER);
  await page.type(`${form} input[type="password"]`, "wrong");
  await page.click(`${form} button[type="submit"]`);
  await page.waitForFunction(() => /Invalid credentials/i.test(document.body.innerText), { timeout: 10_000 });
  await shot(page, "1-refused");

  const password = await page.$(`${form} input[type="password"]`);
  await password.click({ clickCount: 3 });
  await password.type(PASSWORD);
  await page.click(`${form} button[type="submit"]`);
  // The dialog closes (and its closing animation ends).
  await page.waitForFunction(() => ![...document.querySelectorAll(".v-dialog")].some((d) => d.offsetParent !== null),
    { timeout: 10_000 });

  // The servers page lists herald with its pid and its clients: the two app clients and the
  // page's own connection.
  await page.goto(`${server.url}/admin/#/servers/`, { waitUntil: "load" });
  const row = await page.waitForFunction(
    (pid) => {
      for (const tr of document.querySelectorAll("tbody tr")) {
        const cells = [...tr.querySelectorAll("td")].map((td) => td.innerText.trim());
        if (cells.includes(String(pid))) return cells;
      }
      return null;
    },
    { timeout: 15_000 },
    pid,
  );
  const cells = await row.jsonValue();
  const file = await shot(page, "2-servers");
  assert.equal(cells[0], os.hostname(), `server id in ${cells}`);
  assert.equal(cells[1], os.hostname(), `host name in ${cells}`);
  assert.equal(cells[2], String(pid));
  assert.equal(cells[4], "3", `clients in ${cells}`);
  assert.match(cells[6] ?? cells.join(" "), /healthy/i);

  // The dashboard counts the same clients, and the clients page lists the app's clients.
  await page.goto(`${server.url}/admin/#/`, { waitUntil: "load" });
  await page.waitForFunction(() => /WebSocket/.test(document.body.innerText), { timeout: 10_000 });
  await shot(page, "3-dashboard");
  await page.goto(`${server.url}/admin/#/clients/`, { waitUntil: "load" });
  const clientId = clients[0].io.engine.id.slice(-12);
  await page.waitForFunction((id) => document.body.innerText.includes(id), { timeout: 10_000 }, clientId);
  await shot(page, "4-clients");
  assert.deepEqual(page.errors, [], "no error in the page");
  assert.ok(fs.statSync(file).size > 10_000, "a screenshot with content");
});
