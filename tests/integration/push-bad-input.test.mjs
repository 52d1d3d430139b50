// Bad input to the push API: every missing or empty field of every endpoint, wrong types, bad
// msglists, too many users, ids over 256 bytes, bodies that are not JSON, unsupported content
// types, oversized bodies. Seed paths answer HTTP 200 {code:-1, msg}, /api/v1 answers 4xx
// {error}; a bad request never delivers anything, and the server stays up.

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { T, Users, apiError, call, eventually, expectQuietFor, loggedIn, seedError, seedOk, startHerald, uniq, waitLoggedIn } from "./lib/herald.mjs";

let server;
const users = new Users();
// A logged-in user that every bad request targets (by uid, by room, or through "all"), so that
// a half-applied request would reach it.
let watcher;
let watcherUid;
let watcherRoom;

before(async () => {
  server = await startHerald();
});

beforeEach(async () => {
  watcherUid = uniq("watch");
  watcherRoom = uniq("room");
  watcher = await users.login(server, watcherUid);
  assert.equal(seedOk(await call(server, "/changeRoom", { useraccounts: watcherUid, joins: watcherRoom })), true);
  // The HTTP answer can overtake the changeRoom notice on the socket: wait for the notice first.
  await eventually(() => watcher.events.some((e) => e[0] === "changeRoom"), "the watcher's changeRoom notice", 2000);
  watcher.events.length = 0;
});

afterEach(async () => {
  // nothing may have reached the watcher: no message, no changeRoom
  await expectQuietFor(60, "a bad request delivering something to the watcher");
  const got = watcher.events;
  users.closeAll();
  assert.deepEqual(got, [], `a bad request delivered ${JSON.stringify(got).slice(0, 300)}`);
});

after(async () => {
  users.closeAll();
  await server.stop();
});

const LONG = "x".repeat(257);
const MANY = Array.from({ length: 10001 }, (_, i) => `u${i}`);

/** A valid body for each seed endpoint, targeting the watcher. */
function valid(path) {
  switch (path) {
    case "/pushMsgToSingleDevice":
      return { useraccount: watcherUid, msgId: "m", message: "hello" };
    case "/pushBatchUniMsg":
      return { useraccounts: watcherUid, msgId: "m", message: "hello" };
    case "/pushMsgToRoom":
      return { tags: watcherRoom, msgId: "m", message: "hello" };
    case "/pushMsgToAll":
      return { msgId: "m", message: "hello" };
    case "/pushOffLineMsg":
      return { useraccount: watcherUid, msglist: JSON.stringify([{ msgId: "m", message: "hello" }]) };
    case "/changeRoom":
      return { useraccounts: watcherUid, joins: uniq("room"), leaves: "" };
    default:
      throw new Error(path);
  }
}

function without(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

const REQUIRED = {
  "/pushMsgToSingleDevice": ["useraccount", "msgId", "message"],
  "/pushBatchUniMsg": ["useraccounts", "msgId", "message"],
  "/pushMsgToRoom": ["tags", "msgId", "message"],
  "/pushMsgToAll": ["msgId", "message"],
  "/pushOffLineMsg": ["useraccount", "msglist"],
  "/changeRoom": ["useraccounts"],
};

describe("seed endpoints: missing and empty fields", () => {
  for (const [path, fields] of Object.entries(REQUIRED)) {
    for (const field of fields) {
      for (const as of ["form", "json"]) {
        it(`${path} (${as}) without ${field}: {code:-1} naming ${field}`, T, async () => {
          const body = without(valid(path), field);
          seedError(await call(server, path, body, { as }), new RegExp(`\\b${field}\\b`));
        });
        it(`${path} (${as}) with ${field} empty: {code:-1} naming ${field}`, T, async () => {
          const body = { ...valid(path), [field]: "" };
          seedError(await call(server, path, body, { as }), new RegExp(`\\b${field}\\b`));
        });
      }
    }
  }

  for (const as of ["form", "json"]) {
    it(`/changeRoom (${as}) without joins and leaves: {code:-1} naming them`, T, async () => {
      seedError(await call(server, "/changeRoom", { useraccounts: watcherUid }, { as }), /joins|leaves/);
      seedError(await call(server, "/changeRoom", { useraccounts: watcherUid, joins: "", leaves: "" }, { as }), /joins|leaves/);
    });
  }

  it("lists with only separators or blanks count as empty", T, async () => {
    seedError(await call(server, "/pushBatchUniMsg", { ...valid("/pushBatchUniMsg"), useraccounts: " , ," }), /useraccounts/);
    seedError(await call(server, "/pushBatchUniMsg", { ...valid("/pushBatchUniMsg"), useraccounts: [] }, { as: "json" }), /useraccounts/);
    seedError(await call(server, "/pushBatchUniMsg", { ...valid("/pushBatchUniMsg"), useraccounts: ["", " "] }, { as: "json" }), /useraccounts/);
    seedError(await call(server, "/pushMsgToRoom", { ...valid("/pushMsgToRoom"), tags: "," }), /tags/);
    seedError(await call(server, "/changeRoom", { useraccounts: ",", joins: "r" }), /useraccounts/);
  });

  it("JSON null counts as missing", T, async () => {
    seedError(await call(server, "/pushMsgToSingleDevice", { ...valid("/pushMsgToSingleDevice"), message: null }, { as: "json" }), /message/);
    seedError(await call(server, "/pushMsgToSingleDevice", { ...valid("/pushMsgToSingleDevice"), msgId: null }, { as: "json" }), /msgId/);
    seedError(await call(server, "/pushMsgToSingleDevice", { ...valid("/pushMsgToSingleDevice"), useraccount: null }, { as: "json" }), /useraccount/);
  });

  it("an empty body or no body at all", T, async () => {
    seedError(await call(server, "/pushMsgToAll", ""), /msgId/);
    seedError(await call(server, "/pushMsgToAll", "", { type: "application/json" }), /msgId/);
    seedError(await call(server, "/pushMsgToAll", undefined), /msgId/);
    seedError(await call(server, "/pushMsgToSingleDevice", "{}", { type: "application/json" }), /useraccount/);
  });
});

describe("seed endpoints: wrong types and values", () => {
  const cases = [
    ["msgId as an object", { msgId: { id: 1 } }, /msgId/],
    ["msgId as an array", { msgId: ["1"] }, /msgId/],
    ["msgId as a boolean", { msgId: true }, /msgId/],
    ["msgId as a fraction", { msgId: 1.5 }, /msgId/],
    ["useraccount as an object", { useraccount: { id: "x" } }, /useraccount/],
    ["useraccount as an array", { useraccount: ["someone"] }, /useraccount/],
    ["ack 'maybe'", { ack: "maybe" }, /ack/],
    ["ack 2", { ack: 2 }, /ack/],
    ["ack as an object", { ack: {} }, /ack/],
    ["timeout 'abc'", { timeout: "abc" }, /timeout/],
    ["timeout 0", { timeout: 0 }, /timeout/],
    ["timeout -5", { timeout: -5 }, /timeout/],
    ["timeout huge", { timeout: 999999999999 }, /timeout/],
    ["timeout '100ms'", { timeout: "100ms" }, /timeout/],
    ["timeout 1.5", { timeout: 1.5 }, /timeout/],
    ["timeout as an array", { timeout: [100] }, /timeout/],
  ];
  for (const [label, patch, pattern] of cases) {
    it(`/pushMsgToSingleDevice (JSON) with ${label}: {code:-1}`, T, async () => {
      const body = { ...valid("/pushMsgToSingleDevice"), ...patch };
      seedError(await call(server, "/pushMsgToSingleDevice", body, { as: "json" }), pattern);
    });
  }

  for (const [label, patch, pattern] of [
    ["ack=maybe", { ack: "maybe" }, /ack/],
    ["ack=yes", { ack: "yes" }, /ack/],
    ["timeout=abc", { timeout: "abc" }, /timeout/],
    ["timeout=0", { timeout: "0" }, /timeout/],
    ["timeout=-5", { timeout: "-5" }, /timeout/],
    ["timeout=99999999999", { timeout: "99999999999" }, /timeout/],
    ["timeout=1e3", { timeout: "1e3" }, /timeout/],
  ]) {
    for (const path of ["/pushMsgToSingleDevice", "/pushBatchUniMsg", "/pushMsgToRoom", "/pushMsgToAll"]) {
      it(`${path} (form) with ${label}: {code:-1}`, T, async () => {
        seedError(await call(server, path, { ...valid(path), ...patch }), pattern);
      });
    }
  }

  it("/pushOffLineMsg with a bad timeout: {code:-1}", T, async () => {
    seedError(await call(server, "/pushOffLineMsg", { ...valid("/pushOffLineMsg"), timeout: "abc" }), /timeout/);
    seedError(await call(server, "/pushOffLineMsg", { ...valid("/pushOffLineMsg"), timeout: 0 }, { as: "json" }), /timeout/);
  });

  it("lists of the wrong type", T, async () => {
    seedError(await call(server, "/pushBatchUniMsg", { ...valid("/pushBatchUniMsg"), useraccounts: { a: 1 } }, { as: "json" }), /useraccounts/);
    seedError(await call(server, "/pushBatchUniMsg", { ...valid("/pushBatchUniMsg"), useraccounts: [watcherUid, { a: 1 }] }, { as: "json" }), /useraccounts/);
    seedError(await call(server, "/pushMsgToRoom", { ...valid("/pushMsgToRoom"), tags: [watcherRoom, null] }, { as: "json" }), /tags/);
    seedError(await call(server, "/pushMsgToRoom", { ...valid("/pushMsgToRoom"), tags: true }, { as: "json" }), /tags/);
    seedError(await call(server, "/changeRoom", { useraccounts: [watcherUid], joins: { r: 1 } }, { as: "json" }), /joins/);
    seedError(await call(server, "/changeRoom", { useraccounts: [watcherUid], joins: ["r"], leaves: [[1]] }, { as: "json" }), /leaves/);
  });
});

describe("seed endpoints: msglist", () => {
  const bad = [
    ["not JSON", "[{msgId: 1"],
    ["a JSON object", JSON.stringify({ msgId: "1", message: "m" })],
    ["a JSON string", JSON.stringify("text")],
    ["a number", "42"],
    ["an empty array", "[]"],
    ["an item without msgId", JSON.stringify([{ message: "m" }])],
    ["an item with an empty msgId", JSON.stringify([{ msgId: "", message: "m" }])],
    ["an item with an object msgId", JSON.stringify([{ msgId: { a: 1 }, message: "m" }])],
    ["an item without message", JSON.stringify([{ msgId: "1" }])],
    ["an item with a null message", JSON.stringify([{ msgId: "1", message: null }])],
    ["an item that is not an object", JSON.stringify(["m"])],
    ["a good item then a bad one", JSON.stringify([{ msgId: "ok", message: "m" }, { msgId: "2" }])],
    ["an item msgId over 256 bytes", JSON.stringify([{ msgId: LONG, message: "m" }])],
  ];
  for (const [label, msglist] of bad) {
    it(`/pushOffLineMsg (form) with msglist ${label}: {code:-1} naming msglist`, T, async () => {
      seedError(await call(server, "/pushOffLineMsg", { useraccount: watcherUid, msglist }), /msglist/);
    });
    it(`/pushOffLineMsg (JSON) with msglist ${label}: {code:-1} naming msglist`, T, async () => {
      let value;
      try {
        value = JSON.parse(msglist);
      } catch {
        value = msglist; // not JSON: sent as a string
      }
      seedError(await call(server, "/pushOffLineMsg", { useraccount: watcherUid, msglist: value }, { as: "json" }), /msglist/);
    });
  }
});

describe("seed endpoints: sizes", () => {
  it("more than 10000 users or rooms: {code:-1}", T, async () => {
    seedError(await call(server, "/pushBatchUniMsg", { useraccounts: [...MANY, watcherUid], msgId: "m", message: "x" }, { as: "json" }), /useraccounts/);
    seedError(await call(server, "/pushBatchUniMsg", { useraccounts: [...MANY, watcherUid].join(","), msgId: "m", message: "x" }), /useraccounts/);
    seedError(await call(server, "/pushMsgToRoom", { tags: [...MANY, watcherRoom].join(","), msgId: "m", message: "x" }), /tags/);
    seedError(await call(server, "/changeRoom", { useraccounts: [...MANY, watcherUid], joins: "r" }, { as: "json" }), /useraccounts/);
    seedError(await call(server, "/changeRoom", { useraccounts: watcherUid, joins: MANY }, { as: "json" }), /joins/);
  });

  it("exactly 10000 users is accepted", T, async () => {
    const list = [...MANY.slice(0, 9999), watcherUid];
    const body = seedOk(await call(server, "/pushBatchUniMsg", { useraccounts: list, msgId: "ok10000", message: "x", ack: false }, { as: "json" }));
    assert.equal(body, true);
    await watcher.message(0);
    watcher.events.length = 0; // this one was valid
  });

  // values are functions: the watcher's uid and room are known only inside a test
  const longCases = [
    ["/pushMsgToSingleDevice", "useraccount", () => LONG],
    ["/pushMsgToSingleDevice", "msgId", () => LONG],
    ["/pushBatchUniMsg", "useraccounts", () => `${watcherUid},${LONG}`],
    ["/pushMsgToRoom", "tags", () => `${watcherRoom},${LONG}`],
    ["/pushMsgToAll", "msgId", () => "é".repeat(129)],
    ["/pushOffLineMsg", "useraccount", () => LONG],
    ["/changeRoom", "useraccounts", () => `${watcherUid},${LONG}`],
    ["/changeRoom", "joins", () => `r,${LONG}`],
    ["/changeRoom", "leaves", () => LONG],
  ];
  for (const [path, field, value] of longCases) {
    it(`${path} with ${field} over 256 bytes: {code:-1} naming ${field}`, T, async () => {
      seedError(await call(server, path, { ...valid(path), [field]: value() }), new RegExp(field));
    });
  }
});

describe("bodies", () => {
  for (const path of Object.keys(REQUIRED)) {
    it(`${path}: a body that is not JSON with a JSON content-type: {code:-1}`, T, async () => {
      seedError(await call(server, path, "useraccount=x&msgId=1&message=m", { type: "application/json" }), /JSON/);
      seedError(await call(server, path, '{"msgId": "1", "message": ', { type: "application/json; charset=utf-8" }), /JSON/);
    });
  }

  it("a JSON body that is not an object: {code:-1}", T, async () => {
    seedError(await call(server, "/pushMsgToAll", '["m", "hello"]', { type: "application/json" }), /object/);
    seedError(await call(server, "/pushMsgToAll", '"text"', { type: "application/json" }), /object/);
  });

  for (const type of ["text/plain", "application/xml", "multipart/form-data; boundary=x"]) {
    it(`Content-Type ${type}: {code:-1} naming the content type`, T, async () => {
      const body = "msgId=m&message=hello";
      seedError(await call(server, "/pushMsgToAll", body, { type }), /Content-Type/i);
      seedError(await call(server, "/pushMsgToSingleDevice", `useraccount=${watcherUid}&${body}`, { type }), /Content-Type/i);
    });
  }

  it("a body over --max-api-body (1 MB, just over): refused clearly", T, async () => {
    const big = `msgId=m&message=${"a".repeat(1_000_100)}`;
    const seed = await call(server, "/pushMsgToAll", big);
    seedError(seed, /larger|too large|1000000/);
    const api = await call(server, "/api/v1/push", JSON.stringify({ all: true, msgId: "m", message: "a".repeat(1_000_100) }), { type: "application/json" });
    apiError(api, 413, /larger|too large|1000000/);
  });

  /** The call, or a description of the network error that replaced the answer. */
  async function callOrError(path, body, options) {
    try {
      return await call(server, path, body, options);
    } catch (error) {
      return { status: null, text: `no answer: ${error.message} (${error.cause?.code ?? error.cause?.message ?? "?"})` };
    }
  }

  it("a body of 1.5 MB: refused clearly like any body over the limit", T, async () => {
    // A body over the limit gets the API's own answer ({code:-1,msg} / 413 {error}), never the HTTP
    // parser's bare 400 (Beast's request parser has a 1 MiB default limit of its own).
    const big = `msgId=m&message=${"a".repeat(1_500_000)}`;
    const seed = await callOrError("/pushMsgToAll", big);
    assert.equal(seed.status, 200, `seed path: ${seed.status} ${seed.text}`);
    seedError(seed, /larger|too large|1000000/);
    const api = await callOrError("/api/v1/push", JSON.stringify({ all: true, msgId: "m", message: "a".repeat(1_500_000) }), { type: "application/json" });
    assert.equal(api.status, 413, `/api/v1: ${api.status} ${api.text}`);
    apiError(api, 413, /larger|too large|1000000/);
  });

  describe("with --max-api-body", () => {
    let small;
    let large;
    before(async () => {
      [small, large] = await Promise.all([
        startHerald(["--max-api-body", "2048"]),
        startHerald(["--max-api-body", "4000000"]),
      ]);
    });
    after(async () => {
      await Promise.all([small.stop(), large.stop()]);
    });

    it("--max-api-body 2048: a 3 KB body is refused, a 1 KB body is served", T, async () => {
      const user = users.add(await loggedIn(small, "sizer"));
      seedError(await call(small, "/pushMsgToAll", { msgId: "big", message: "a".repeat(3000) }), /larger|too large|2048/);
      apiError(await call(small, "/api/v1/push", { all: true, msgId: "big", message: "a".repeat(3000) }, { as: "json" }), 413, /larger|too large|2048/);
      assert.deepEqual(seedOk(await call(small, "/pushMsgToAll", { msgId: "ok", message: "a".repeat(1000) })), ["sizer"]);
      assert.deepEqual(user.msgIds(), ["ok"]);
    });

    it("--max-api-body 4000000: a valid 1.5 MB push is served", T, async () => {
      // --max-api-body lifts the limit past Beast's 1 MiB default.
      const user = users.add(await loggedIn(large, "big-reader"));
      const message = "b".repeat(1_500_000);
      const res = await (async () => {
        try {
          return await call(large, "/pushMsgToSingleDevice", { useraccount: "big-reader", msgId: "big", message });
        } catch (error) {
          return { status: null, text: `no answer: ${error.message} (${error.cause?.code ?? "?"})` };
        }
      })();
      assert.equal(res.status, 200, `${res.status} ${res.text}`);
      assert.deepEqual(seedOk(res), ["big-reader"]);
      assert.equal((await user.message(0)).message.length, message.length);
    });
  });
});

describe("/api/v1: bad input answers 4xx {error}", () => {
  const push = (extra) => ({ users: [watcherUid], msgId: "m", message: "hello", ...extra });
  const cases = () => [
    ["no target", without(push(), "users"), /target|users|rooms|all/],
    ["users and rooms", push({ rooms: [watcherRoom] }), /exactly one|target/],
    ["users and all", push({ all: true }), /exactly one|target/],
    ["rooms and all", { rooms: [watcherRoom], all: true, msgId: "m", message: "x" }, /exactly one|target/],
    ["all:false", { all: false, msgId: "m", message: "x" }, /all/],
    ["all:'maybe'", { all: "maybe", msgId: "m", message: "x" }, /all/],
    ["users []", push({ users: [] }), /users|target/],
    ["users [{}]", push({ users: [{}] }), /users/],
    ["users over 10000", push({ users: [...MANY, watcherUid] }), /users/],
    ["a user id over 256 bytes", push({ users: [watcherUid, LONG] }), /users/],
    ["no msgId", without(push(), "msgId"), /msgId/],
    ["msgId as an object", push({ msgId: { a: 1 } }), /msgId/],
    ["no message", without(push(), "message"), /message/],
    ["message null", push({ message: null }), /message/],
    ["ack 'maybe'", push({ ack: "maybe" }), /ack/],
    ["timeout 'abc'", push({ timeout: "abc" }), /timeout/],
    ["timeout 0", push({ timeout: 0 }), /timeout/],
    ["timeout -5", push({ timeout: -5 }), /timeout/],
    ["timeout huge", push({ timeout: 1e12 }), /timeout/],
    ["event 'connect'", push({ event: "connect" }), /reserved/],
    ["event 'disconnect'", push({ event: "disconnect" }), /reserved/],
    ["event 'connect_error'", push({ event: "connect_error" }), /reserved/],
    ["event 'disconnecting'", push({ event: "disconnecting" }), /reserved/],
    ["event 'newListener'", push({ event: "newListener" }), /reserved/],
    ["event 'removeListener'", push({ event: "removeListener" }), /reserved/],
    ["event as an object", push({ event: { name: "x" } }), /event/],
    ["event over 256 bytes", push({ event: LONG }), /event/],
  ];
  for (const [label] of cases()) {
    it(`POST /api/v1/push with ${label}: 400`, T, async () => {
      const [, body, pattern] = cases().find(([l]) => l === label);
      apiError(await call(server, "/api/v1/push", body, { as: "json" }), 400, pattern);
    });
  }

  it("POST /api/v1/push (form) with bad fields: 400", T, async () => {
    apiError(await call(server, "/api/v1/push", { users: watcherUid, msgId: "m" }), 400, /message/);
    apiError(await call(server, "/api/v1/push", { users: watcherUid, msgId: "m", message: "x", ack: "maybe" }), 400, /ack/);
    apiError(await call(server, "/api/v1/push", { users: watcherUid, msgId: "m", message: "x", timeout: "-1" }), 400, /timeout/);
    apiError(await call(server, "/api/v1/push", { users: watcherUid, rooms: watcherRoom, msgId: "m", message: "x" }), 400, /target/);
    apiError(await call(server, "/api/v1/push", { all: "true", msgId: "m", message: "x", event: "disconnect" }), 400, /reserved/);
  });

  it("POST /api/v1/offline with bad fields: 400", T, async () => {
    const messages = [{ msgId: "m", message: "x" }];
    const cases = [
      [{ messages }, /user/],
      [{ user: "", messages }, /user/],
      [{ user: LONG, messages }, /user/],
      [{ user: watcherUid }, /messages/],
      [{ user: watcherUid, messages: [] }, /msglist|messages|non-empty/],
      [{ user: watcherUid, messages: { msgId: "m", message: "x" } }, /msglist|messages|array/],
      [{ user: watcherUid, messages: "not json" }, /JSON|messages|msglist/],
      [{ user: watcherUid, messages: [{ message: "x" }] }, /msgId/],
      [{ user: watcherUid, messages: [{ msgId: "m" }] }, /message/],
      [{ user: watcherUid, messages, timeout: 0 }, /timeout/],
      [{ user: watcherUid, messages, timeout: "abc" }, /timeout/],
    ];
    for (const [body, pattern] of cases) {
      apiError(await call(server, "/api/v1/offline", body, { as: "json" }), 400, pattern);
    }
  });

  it("POST /api/v1/rooms with bad fields: 400", T, async () => {
    const cases = [
      [{ joins: ["r"] }, /users/],
      [{ users: [], joins: ["r"] }, /users/],
      [{ users: [watcherUid] }, /joins|leaves/],
      [{ users: [watcherUid], joins: [], leaves: [] }, /joins|leaves/],
      [{ users: [watcherUid], joins: [LONG] }, /joins/],
      [{ users: [...MANY, watcherUid], joins: ["r"] }, /users/],
      [{ users: [watcherUid], joins: { r: 1 } }, /joins/],
    ];
    for (const [body, pattern] of cases) {
      apiError(await call(server, "/api/v1/rooms", body, { as: "json" }), 400, pattern);
    }
  });

  it("/api/v1/users/<uid> with a bad uid: 400", T, async () => {
    for (const uid of ["a%2Cb", LONG]) {
      apiError(await call(server, `/api/v1/users/${uid}`, undefined, { method: "GET" }), 400, /uid/);
      apiError(await call(server, `/api/v1/users/${uid}/rooms`, undefined, { method: "GET" }), 400, /uid/);
      apiError(await call(server, `/api/v1/users/${uid}/rooms`, { rooms: ["r"] }, { as: "json", method: "PUT" }), 400, /uid/);
    }
  });

  it("PUT /api/v1/users/<uid>/rooms with bad rooms: 400, and the rooms are unchanged", T, async () => {
    const uid = uniq();
    const path = `/api/v1/users/${uid}/rooms`;
    assert.equal((await call(server, path, { rooms: ["keep"] }, { as: "json", method: "PUT" })).status, 200);
    apiError(await call(server, path, { rooms: { a: 1 } }, { as: "json", method: "PUT" }), 400, /rooms/);
    apiError(await call(server, path, { rooms: ["ok", LONG] }, { as: "json", method: "PUT" }), 400, /rooms/);
    apiError(await call(server, path, { rooms: MANY }, { as: "json", method: "PUT" }), 400, /rooms/);
    apiError(await call(server, path, "{not json", { type: "application/json", method: "PUT" }), 400, /JSON/);
    assert.deepEqual((await call(server, path, undefined, { method: "GET" })).json.rooms, ["keep"]);
  });

  it("bodies: not JSON, not an object, unsupported content-type: 400 {error}", T, async () => {
    for (const path of ["/api/v1/push", "/api/v1/offline", "/api/v1/rooms"]) {
      apiError(await call(server, path, "{not json", { type: "application/json" }), 400, /JSON/);
      apiError(await call(server, path, "[1,2]", { type: "application/json" }), 400, /object/);
      const plain = await call(server, path, "users=x&msgId=1&message=m", { type: "text/plain" });
      assert.ok(plain.status === 400 || plain.status === 415, `${path} text/plain: ${plain.status} ${plain.text}`);
      apiError(plain, plain.status, /Content-Type/i);
    }
  });
});

describe("after all of it", () => {
  it("the server is up and a valid push of every kind still works", T, async () => {
    assert.equal(server.exited(), null, "herald is running");
    await waitLoggedIn(server, 1);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToSingleDevice", valid("/pushMsgToSingleDevice"))), [watcherUid]);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToRoom", valid("/pushMsgToRoom"), { as: "json" })), [watcherUid]);
    assert.deepEqual(seedOk(await call(server, "/pushMsgToAll", valid("/pushMsgToAll"))), [watcherUid]);
    const res = await call(server, "/api/v1/push", { users: [watcherUid], msgId: "last", message: "x" }, { as: "json" });
    assert.deepEqual(res.json.acked, [watcherUid]);
    await watcher.waitMessages(4);
    watcher.events.length = 0;
  });
});
