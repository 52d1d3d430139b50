// Benchmark peer: the seed's Node stack (koa HTTP push API + socket.io, optionally clustered
// through Redis like pm2 + socket.io-redis), rebuilt small and clean so herald-bench can measure
// Herald against a good Node implementation of the same service. It is not part of the product.
//
//   node bench/peer/server.mjs [--host 127.0.0.1] [--port 1994] [--namespace /] [--redis redis://127.0.0.1:6379]
//                              [--recovery-ms N]
//
// Socket: the client emits `login(uid)` (joins room uid, leaving a previous one) and `logout`, or
// sends {uid} in its CONNECT auth; the server emits `message(msgId, message)` with an ack callback.
// --recovery-ms turns on socket.io's connection state recovery: a client back within N ms gets
// its session (id, rooms, data) and the broadcasts it missed. socket.io keeps only broadcasts
// without ack for that, so only `ack=false` pushes are replayed.
// HTTP (POST, form or JSON body, lists comma-separated, `ack` true by default, `timeout` ms):
//   /pushMsgToSingleDevice {useraccount,msgId,message}   /pushBatchUniMsg {useraccounts,msgId,message}
//   /pushMsgToRoom {tags,msgId,message}                   /pushMsgToAll {msgId,message}
// Answer: {"code":0,"msg":"success","body":[uids that acked]} (body true without ack), sent as
// soon as every targeted socket acked or the timeout passed (the seed always waited 10 s).
import http from 'node:http';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { Server } from 'socket.io';

const { values: options } = parseArgs({
  options: {
    host: { type: 'string' }, // default: every address, as Node's listen does
    port: { type: 'string', default: '1994' },
    namespace: { type: 'string', default: '/' },
    redis: { type: 'string' },
    'recovery-ms': { type: 'string' },
  },
});
const recoveryMs = options['recovery-ms'] === undefined ? 0 : Number(options['recovery-ms']);
if (!(Number.isInteger(recoveryMs) && recoveryMs >= 0)) {
  console.error('--recovery-ms must be a whole number of milliseconds');
  process.exit(2);
}
// socket.io's recovery lives in the adapter (persistSession/restoreSession): the Redis pub/sub
// adapter leaves both empty, so with it no session would ever be recovered, without a word.
if (recoveryMs > 0 && options.redis) {
  console.error('--recovery-ms cannot be combined with --redis: the Redis pub/sub adapter does not support ' +
    "socket.io's connection state recovery (no session would ever be recovered)");
  process.exit(2);
}
const namespaceName = options.namespace.startsWith('/') ? options.namespace : `/${options.namespace}`;
const DEFAULT_ACK_TIMEOUT_MS = 10000;

const list = (value) => (Array.isArray(value) ? value.map(String) : String(value).split(',')).filter(Boolean);
const isTrue = (value) => value === undefined || value === true || value === 1 || value === 'true' || value === '1';

// Sends `message(msgId, message)` to the rooms (every socket when rooms is null) and resolves
// with what the push API answers in `body`.
function deliver(rooms, { msgId, message, ack, timeout }) {
  const target = rooms ? namespace.to(rooms) : namespace;
  if (!isTrue(ack)) {
    target.emit('message', msgId, message);
    return Promise.resolve(true);
  }
  const ms = Number(timeout) > 0 ? Number(timeout) : DEFAULT_ACK_TIMEOUT_MS;
  return new Promise((resolve) => {
    // On timeout `uids` still holds every ack that did arrive.
    target.timeout(ms).emit('message', msgId, message, (_err, uids) => resolve(uids.filter((uid) => uid !== null)));
  });
}

const routes = {
  '/pushMsgToSingleDevice': { required: ['useraccount', 'msgId', 'message'], rooms: 'useraccount' },
  '/pushBatchUniMsg': { required: ['useraccounts', 'msgId', 'message'], rooms: 'useraccounts' },
  '/pushMsgToRoom': { required: ['tags', 'msgId', 'message'], rooms: 'tags' },
  '/pushMsgToAll': { required: ['msgId', 'message'], rooms: null },
};

const app = new Koa();
app.use(bodyParser({ enableTypes: ['json', 'form'] }));
app.use(async (ctx) => {
  const route = routes[ctx.path];
  if (!route || ctx.method !== 'POST') {
    ctx.status = 404;
    return;
  }
  const body = ctx.request.body ?? {};
  const rooms = route.rooms ? list(body[route.rooms] ?? '') : null;
  const missing = route.required.find((field) => body[field] === undefined || body[field] === '') ??
    (rooms?.length === 0 ? route.rooms : undefined);
  if (missing) {
    ctx.body = { code: -1, msg: `${missing} is required` };
    return;
  }
  ctx.body = { code: 0, msg: 'success', body: await deliver(rooms, body) };
});

// Koa composes its middleware when the server takes its callback, so the server comes last.
const server = http.createServer(app.callback());
// The seed's settings: heartbeat every 15 s, 20 s to answer, both transports.
const io = new Server(server, {
  pingInterval: 15000,
  pingTimeout: 20000,
  transports: ['polling', 'websocket'],
  // skipMiddlewares: a recovered client is not run through middlewares again (the peer has none).
  ...(recoveryMs > 0 && { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: true } }),
});

if (options.redis) {
  const { createClient } = await import('redis');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const pubClient = createClient({ url: options.redis });
  const subClient = pubClient.duplicate();
  // Log and keep serving (the client reconnects by itself): the seed crashed when Redis went away.
  for (const client of [pubClient, subClient]) client.on('error', (err) => console.error('redis:', err.message));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

const namespace = io.of(namespaceName);
namespace.on('connection', (socket) => {
  const logout = () => {
    if (socket.data.uid !== undefined) socket.leave(socket.data.uid);
    socket.data.uid = undefined;
  };
  const login = (uid) => {
    // A recovered socket is already in its uid's room with socket.data restored: logging in as
    // the same user again keeps it there, so broadcasts to the room never miss it.
    if (socket.data.uid === String(uid)) return;
    logout();
    socket.data.uid = String(uid);
    socket.join(socket.data.uid);
  };
  socket.on('login', login);
  socket.on('logout', logout);
  const authUid = socket.handshake.auth?.uid;
  if (typeof authUid === 'string' && authUid !== '') login(authUid);

  // A broadcast ack carries only what the client answered; the push API reports who answered,
  // so this socket's acks are rewritten to its uid. (socket.io 4.8.1 routes every ACK packet
  // through onack; package.json pins that version.)
  const onack = socket.onack;
  socket.onack = function (packet) {
    packet.data = [this.data.uid ?? null];
    return onack.call(this, packet);
  };
});

server.listen(Number(options.port), options.host, () => {
  console.log(`peer listening on ${options.host ?? '*'}:${options.port}, namespace ${namespaceName}${options.redis ? `, redis ${options.redis}` : ''}${recoveryMs ? `, connection state recovery ${recoveryMs} ms` : ''}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
