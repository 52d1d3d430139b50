// Alerts on Redis trouble, by e-mail through a real SMTP server (smtp-server, AUTH checked, no
// TLS) and by JSON webhook: one alert per kind of failure for an outage however many reconnection
// attempts fail, one recovery notice when it heals, and the same again for the next outage. Also
// `herald monitor`, which watches a Redis server on its own.

import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { spawnHerald, startMailServer, startWebhookReceiver, waitItems } from "./lib/alerts.mjs";
import { quitClient, readiness, redisClient, startNode, startRedis, waitReady } from "./lib/cluster.mjs";
import { sleep } from "./lib/herald.mjs";
import { scaled } from "./lib/timing.mjs";
import { eventually, expectQuietFor, withTimeout } from "./lib/wait.mjs";

const FROM = "herald@test";
const TO = ["ops@test", "oncall@test"];

let mail;
let hooks;

before(async () => {
  mail = await startMailServer({ user: "u", pass: "p" });
  hooks = await startWebhookReceiver();
});

after(async () => {
  await mail?.close();
  await hooks?.close();
});

function alertFlags(node, { pass = "p" } = {}) {
  return [
    "--smtp-url", mail.url,
    "--smtp-tls", "off",
    "--smtp-user", "u",
    "--smtp-pass", pass,
    "--alert-from", FROM,
    "--alert-to", TO.join(","),
    "--alert-webhook", hooks.url,
    "--node-name", node,
  ];
}

/** Mails whose subject names `node`. */
const mailsOf = (node) => mail.messages.filter((m) => m.subject.includes(node));

/** Checks one alert e-mail: envelope, headers, AUTH, subject and text. */
function checkMail(message, { node, state, kind, mentions }) {
  const word = state === "alert" ? "ALERT" : "RECOVERED";
  assert.match(message.subject, new RegExp(`\\b${word}\\b`), `subject: ${message.subject}`);
  assert.ok(message.subject.includes(kind), `subject names ${kind}: ${message.subject}`);
  assert.ok(message.subject.includes(node), `subject names the node ${node}: ${message.subject}`);
  if (state === "alert") assert.doesNotMatch(message.subject, /RECOVERED/);
  else assert.doesNotMatch(message.subject, /ALERT/);
  assert.equal(message.mailFrom, FROM, "envelope sender");
  assert.deepEqual(message.rcptTo, TO, "envelope recipients");
  assert.equal(message.user, "u", "the mail came through an authenticated session");
  assert.equal(message.headers.from?.[0], FROM, `From header in\n${message.raw}`);
  const to = (message.headers.to?.[0] ?? "").split(",").map((s) => s.trim());
  assert.deepEqual(to, TO, `To header in\n${message.raw}`);
  assert.equal(message.headers.subject?.length, 1, "one Subject header");
  assert.ok(message.body.includes(mentions), `the text names ${mentions}:\n${message.body}`);
  assert.ok(message.body.includes(node), `the text names the node:\n${message.body}`);
}

/** Checks one webhook request. */
function checkHook(request, { node, state, kind, mentions }) {
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/alert");
  assert.match(request.headers["content-type"] ?? "", /^application\/json/);
  const body = request.json;
  assert.ok(body && typeof body === "object", `JSON body: ${request.text}`);
  assert.deepEqual(Object.keys(body).sort(), ["kind", "node", "state", "text", "time"], request.text);
  assert.equal(body.kind, kind, request.text);
  assert.equal(body.state, state, request.text);
  assert.equal(body.node, node, request.text);
  assert.equal(typeof body.text, "string");
  assert.ok(body.text.includes(mentions), `text names ${mentions}: ${body.text}`);
  assert.equal(typeof body.time, "number", request.text);
  assert.ok(Math.abs(body.time - request.at) < 10_000, `time ${body.time} is the epoch in ms (received at ${request.at})`);
}

/** Expects exactly `count` mails and webhooks from `node` now and during `quietMs` more. */
async function expectExactly(node, count, quietMs, what) {
  await waitItems(() => mailsOf(node), count, `mails from ${node} (${what})`, 5000);
  await waitItems(() => hooks.from(node), count, `webhooks from ${node} (${what})`, 5000);
  await expectQuietFor(quietMs, `more mails or webhooks from ${node} ${what}`);
  assert.equal(mailsOf(node).length, count, `mails from ${node} ${what}: ${JSON.stringify(mailsOf(node).map((m) => m.subject))}`);
  assert.equal(hooks.from(node).length, count, `webhooks from ${node} ${what}: ${JSON.stringify(hooks.from(node).map((r) => r.json))}`);
}

describe("a herald node's alerts on a Redis outage", () => {
  const NODE = "node-a";
  let redis;
  let node;

  before(async () => {
    redis = await startRedis();
    node = await startNode(redis, alertFlags(NODE));
    await waitReady([node]);
  });

  after(async () => {
    await node?.stop();
    await redis?.stop();
  });

  it("no alert while Redis is up", { timeout: 5000 }, async () => {
    await expectQuietFor(300, "an alert while Redis is up");
    assert.equal(mailsOf(NODE).length, 0, JSON.stringify(mailsOf(NODE).map((m) => m.subject)));
    assert.equal(hooks.from(NODE).length, 0);
  });

  for (const round of [1, 2]) {
    it(`outage ${round}: exactly one ALERT mail and webhook however many reconnections fail, then exactly one RECOVERED`, { timeout: 20_000 }, async () => {
      const base = (round - 1) * 2;
      const where = `127.0.0.1:${redis.port}`;
      const killedAt = Date.now();
      await redis.kill();
      await expectExactly(NODE, base + 1, 0, "after the kill");
      const alertMail = mailsOf(NODE)[base];
      const alertHook = hooks.from(NODE)[base];
      assert.ok(alertMail.at - killedAt < scaled(3000), `alert mail ${alertMail.at - killedAt} ms after the kill`);
      checkMail(alertMail, { node: NODE, state: "alert", kind: "redis_unreachable", mentions: where });
      checkHook(alertHook, { node: NODE, state: "alert", kind: "redis_unreachable", mentions: where });

      // Stay down long enough for several failed reconnection attempts (backoff from 100 ms).
      await sleep(Math.max(0, killedAt + 2500 - Date.now()));
      const reconnects = (await readiness(node)).redis.reconnects;
      assert.ok(reconnects >= 3, `only ${reconnects} reconnection attempts during the outage`);
      assert.equal(mailsOf(NODE).length, base + 1, `one alert mail for the whole outage: ${JSON.stringify(mailsOf(NODE).map((m) => m.subject))}`);
      assert.equal(hooks.from(NODE).length, base + 1, "one alert webhook for the whole outage");

      await redis.start();
      await waitReady([node], "ready", 8000);
      await expectExactly(NODE, base + 2, 500, "after the recovery");
      checkMail(mailsOf(NODE)[base + 1], { node: NODE, state: "recovered", kind: "redis_unreachable", mentions: where });
      checkHook(hooks.from(NODE)[base + 1], { node: NODE, state: "recovered", kind: "redis_unreachable", mentions: where });
      assert.equal(node.exited(), null, "herald is still running");
    });
  }

  it("every mail used AUTH with the configured user; no attempt was refused", () => {
    const mine = mailsOf(NODE);
    assert.equal(mine.length, 4);
    assert.ok(mine.every((m) => ["PLAIN", "LOGIN"].includes(m.authMethod)), JSON.stringify(mine.map((m) => m.authMethod)));
    assert.ok(mail.auths.length >= 4 && mail.auths.every((a) => a.ok && a.username === "u"), JSON.stringify(mail.auths));
  });
});

describe("a Redis that refuses the password: redis_error", () => {
  const NODE = "node-pw";
  let redis;
  let client;
  let node;

  before(async () => {
    redis = await startRedis();
    client = await redisClient(redis); // stays authenticated after the password is set
    await client.sendCommand(["CONFIG", "SET", "requirepass", "right"]);
  });

  after(async () => {
    await node?.stop();
    await quitClient(client);
    await redis?.stop();
  });

  it("one redis_error alert (not redis_unreachable) while AUTH fails, one recovery once it passes", { timeout: 20_000 }, async () => {
    node = await startNode({ url: `redis://:wrong@127.0.0.1:${redis.port}` }, alertFlags(NODE));
    const where = `127.0.0.1:${redis.port}`;
    await expectExactly(NODE, 1, 1200, "while the password is refused");
    const alertMail = mailsOf(NODE)[0];
    checkMail(alertMail, { node: NODE, state: "alert", kind: "redis_error", mentions: where });
    checkHook(hooks.from(NODE)[0], { node: NODE, state: "alert", kind: "redis_error", mentions: where });
    assert.match(hooks.from(NODE)[0].json.text, /WRONGPASS|NOAUTH|invalid/i, "the text gives Redis' answer");
    assert.ok(!alertMail.raw.includes(":wrong@") && !hooks.from(NODE)[0].text.includes("wrong@"), "the password is not in the alert");
    assert.equal((await readiness(node)).status, "degraded");

    await client.sendCommand(["CONFIG", "SET", "requirepass", "wrong"]);
    await waitReady([node], "ready", 8000);
    await expectExactly(NODE, 2, 500, "after the password passes");
    checkMail(mailsOf(NODE)[1], { node: NODE, state: "recovered", kind: "redis_error", mentions: where });
    checkHook(hooks.from(NODE)[1], { node: NODE, state: "recovered", kind: "redis_error", mentions: where });
  });
});

describe("herald monitor", () => {
  const NODE = "mon-1";
  let redis;

  before(async () => {
    redis = await startRedis();
  });

  after(async () => {
    await redis?.stop();
  });

  it("without --redis: exit code 2 and a message naming --redis", { timeout: 5000 }, async () => {
    const monitor = spawnHerald(["monitor", ...alertFlags("mon-none")]);
    const exit = await withTimeout(monitor.exited, 3000, "herald monitor without --redis to exit");
    assert.equal(exit.code, 2, `exit ${JSON.stringify(exit)}\n${monitor.output()}`);
    assert.match(monitor.output(), /--redis/, monitor.output());
  });

  it("with an invalid --redis URL: exit code 2", { timeout: 5000 }, async () => {
    const monitor = spawnHerald(["monitor", "--redis", "http://127.0.0.1:1"]);
    const exit = await withTimeout(monitor.exited, 3000, "herald monitor with a bad URL to exit");
    assert.equal(exit.code, 2, `exit ${JSON.stringify(exit)}\n${monitor.output()}`);
    assert.match(monitor.output(), /redis/i);
  });

  it("Redis killed and restarted: one alert and one recovery by mail and webhook; SIGTERM exits 0", { timeout: 20_000 }, async () => {
    const where = `127.0.0.1:${redis.port}`;
    const monitor = spawnHerald(["monitor", "--redis", redis.url, "--monitor-interval-ms", "200", "--log-level", "info", ...alertFlags(NODE)]);
    try {
      await eventually(() => monitor.exitInfo() || /monitor: \S+ reachable/.test(monitor.output()), "the monitor to reach Redis", 5000);
      assert.equal(monitor.exitInfo(), null, `monitor exited at start\n${monitor.output()}`);
      await expectQuietFor(800, "an alert while Redis is up");
      assert.equal(mailsOf(NODE).length + hooks.from(NODE).length, 0, "no alert while Redis is up");

      const killedAt = Date.now();
      await redis.kill();
      await expectExactly(NODE, 1, Math.max(0, killedAt + 2500 - Date.now()), "during the outage");
      checkMail(mailsOf(NODE)[0], { node: NODE, state: "alert", kind: "redis_unreachable", mentions: where });
      checkHook(hooks.from(NODE)[0], { node: NODE, state: "alert", kind: "redis_unreachable", mentions: where });

      await redis.start();
      await expectExactly(NODE, 2, 800, "after the recovery");
      checkMail(mailsOf(NODE)[1], { node: NODE, state: "recovered", kind: "redis_unreachable", mentions: where });
      checkHook(hooks.from(NODE)[1], { node: NODE, state: "recovered", kind: "redis_unreachable", mentions: where });

      monitor.kill("SIGTERM");
      const exit = await withTimeout(monitor.exited, 3000, "herald monitor to exit on SIGTERM");
      assert.deepEqual(exit, { code: 0, signal: null }, monitor.output());
    } finally {
      monitor.kill("SIGKILL");
    }
  });

  it("started while Redis is down: alerts at once, recovers when Redis comes", { timeout: 20_000 }, async () => {
    const node = "mon-2";
    await redis.kill();
    const monitor = spawnHerald(["monitor", "--redis", redis.url, "--monitor-interval-ms", "200", ...alertFlags(node)]);
    try {
      await waitItems(() => hooks.from(node), 1, "alert webhook from a monitor started without Redis", 3000);
      await waitItems(() => mailsOf(node), 1, "alert mail from a monitor started without Redis", 3000);
      assert.equal(hooks.from(node)[0].json.state, "alert");
      await redis.start();
      await waitItems(() => hooks.from(node), 2, "recovery webhook", 8000);
      assert.equal(hooks.from(node)[1].json.state, "recovered");
      monitor.kill("SIGTERM");
      const exit = await withTimeout(monitor.exited, 3000, "herald monitor to exit on SIGTERM");
      assert.equal(exit.code, 0, monitor.output());
      assert.equal(mailsOf(node).length, 2, JSON.stringify(mailsOf(node).map((m) => m.subject)));
      assert.equal(hooks.from(node).length, 2);
    } finally {
      monitor.kill("SIGKILL");
    }
  });
});

describe("alert delivery itself", () => {
  // An alert e-mail has the header fields every message must have: Date (RFC 5322, section 3.6)
  // and MIME-Version (RFC 2045, with the Content-Type it carries); without them a relay may refuse
  // it or stamp its own time, and spam filters score it.
  it("an alert e-mail carries the header fields a message must have (Date, MIME-Version)", { timeout: 8000 }, async () => {
    const node = "mon-hdr";
    const monitor = spawnHerald(["monitor", "--redis", "redis://127.0.0.1:1", "--monitor-interval-ms", "200", ...alertFlags(node)]);
    try {
      const [message] = await waitItems(() => mailsOf(node), 1, "alert mail", 4000);
      assert.equal(message.headers.from?.length, 1, message.raw);
      assert.equal(message.headers["mime-version"]?.[0], "1.0", `MIME-Version in\n${message.raw}`);
      assert.equal(message.headers.date?.length, 1, `one Date header in\n${message.raw}`);
      const date = Date.parse(message.headers.date[0]);
      assert.ok(Math.abs(date - message.at) < 60_000, `Date ${message.headers.date[0]} is now`);
    } finally {
      monitor.kill("SIGKILL");
    }
  });

  // Mail and webhook are independent channels, each with its own sender: a mail server that accepts
  // the connection but never answers (a hung or firewalled relay) does not hold the webhook back,
  // which is the other channel for exactly such a time.
  it("a mail server that never answers does not hold back the webhook", { timeout: 10_000 }, async () => {
    const node = "mon-hung";
    const held = [];
    const hole = net.createServer((socket) => held.push(socket));
    await new Promise((resolve) => hole.listen(0, "127.0.0.1", resolve));
    const flags = alertFlags(node);
    flags[flags.indexOf("--smtp-url") + 1] = `smtp://127.0.0.1:${hole.address().port}`;
    const startedAt = Date.now();
    const monitor = spawnHerald(["monitor", "--redis", "redis://127.0.0.1:1", "--monitor-interval-ms", "200", ...flags]);
    try {
      await waitItems(() => held, 1, "the connection to the hung mail server", 3000);
      await waitItems(() => hooks.from(node), 1, "the alert webhook while the mail server hangs", 3000);
      assert.ok(hooks.from(node)[0].at - startedAt < 3000);
    } finally {
      monitor.kill("SIGKILL");
      for (const socket of held) socket.destroy();
      hole.close();
    }
  });
});
