// Browsers at the edge: a page of another site cannot make the push API act (a form POST carries
// an Origin header, and is refused even without --api-token), a WebSocket from an origin outside
// --cors-origins is refused, and --cors-origins "*" never allows credentials. Backends, which send
// no Origin, are unaffected.

import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { T, Users, call, expectQuietFor, seedOk, startHerald, uniq } from "./lib/herald.mjs";

const SITE = "https://app.example";

/** The status line of a raw WebSocket upgrade with `origin`. */
function upgrade(server, origin) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, "127.0.0.1");
    let data = "";
    socket.on("data", (d) => {
      data += d;
      if (data.includes("\r\n")) {
        socket.destroy();
        resolve(data.split("\r\n")[0]);
      }
    });
    socket.on("error", reject);
    socket.write(
      "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${origin ? `Origin: ${origin}\r\n` : ""}\r\n`,
    );
  });
}

describe("with --cors-origins listing a site", () => {
  let server;
  const users = new Users();
  before(async () => {
    server = await startHerald(["--cors-origins", SITE]);
  });
  after(async () => {
    users.closeAll();
    await server.stop();
  });

  it("a form POST from another site's page is refused with 403, and nothing is delivered", T, async () => {
    const uid = uniq("victim");
    const user = await users.login(server, uid);
    for (const path of ["/pushMsgToSingleDevice", "/api/v1/push"]) {
      const res = await call(server, path, { useraccount: uid, users: uid, msgId: "csrf", message: "x" }, { headers: { origin: "https://evil.example" } });
      assert.equal(res.status, 403, res.text);
      assert.match(res.text, /evil\.example/);
    }
    await expectQuietFor(50, "a push from a refused origin");
    assert.deepEqual(user.msgIds(), []);
  });

  it("the listed site and backends without Origin are served", T, async () => {
    const uid = uniq("ok");
    await users.login(server, uid);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "a", message: "x" }, { headers: { origin: SITE } })), [uid]);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", { useraccount: uid, msgId: "b", message: "x" })), [uid]);
  });

  it("a WebSocket from another origin is refused; from the site, or with no Origin, it opens", T, async () => {
    assert.match(await upgrade(server, "https://evil.example"), / 403 /);
    assert.match(await upgrade(server, SITE), / 101 /);
    assert.match(await upgrade(server, null), / 101 /);
  });
});

describe("without --cors-origins", () => {
  let server;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  it("a cross-site form POST is refused even without --api-token", T, async () => {
    const res = await call(server, "/pushMsgToAll", { msgId: "csrf", message: "x" }, { headers: { origin: "https://evil.example" } });
    assert.equal(res.status, 403, res.text);
  });
});

describe('with --cors-origins "*"', () => {
  let server;
  before(async () => {
    server = await startHerald(["--cors-origins", "*"]);
  });
  after(() => server.stop());

  it("any origin is allowed, never with credentials", T, async () => {
    const res = await call(server, "/socket.io/?EIO=4&transport=polling", undefined, { method: "GET", headers: { origin: "https://evil.example" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("access-control-allow-credentials"), null);
  });
});
