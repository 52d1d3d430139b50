#!/usr/bin/env node
// Reference implementation of the echo_server contract, built on the official
// Node.js `socket.io` server. It exists to validate the integration suite:
//
//   ECHO_SERVER="node tests/integration/reference/echo_server.mjs" npm test
//
// The C++ binary (build/echo_server) implements the same command line and
// behaviour. Places where this Node server cannot be configured to follow the
// contract exactly are listed in tests/integration/README.md and handled in
// the tests that are affected (search for REFERENCE_SERVER).
//
// Flags:
//   --port N               (default 3000)
//   --ping-interval MS     (default 300)
//   --ping-timeout MS      (default 200)
//   --max-payload BYTES    (default 1000000)
//   --connect-timeout MS   (default 1000)
//   --engineio-echo        raw Engine.IO echo server on /engine.io/
//   --allow-eio3           also accept Engine.IO v3 clients (socket.io-client 2.x)
//   --cors-origin ORIGIN   repeatable; "*" allows any origin

import { createServer } from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";

// engine.io is a dependency of socket.io; load the very copy socket.io uses.
const requireFromSocketIo = createRequire(createRequire(import.meta.url).resolve("socket.io"));
const { Server: EngineServer } = requireFromSocketIo("engine.io");

function usage(message) {
  process.stderr.write(`echo_server: ${message}\n`);
  process.stderr.write(
    "usage: echo_server [--port N] [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES]\n" +
      "                   [--connect-timeout MS] [--engineio-echo] [--allow-eio3] [--cors-origin ORIGIN]...\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    port: 3000,
    pingInterval: 300,
    pingTimeout: 200,
    maxPayload: 1000000,
    connectTimeout: 1000,
    engineioEcho: false,
    allowEIO3: false,
    corsOrigins: [],
  };
  const numeric = {
    "--port": "port",
    "--ping-interval": "pingInterval",
    "--ping-timeout": "pingTimeout",
    "--max-payload": "maxPayload",
    "--connect-timeout": "connectTimeout",
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq !== -1) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const takeValue = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usage(`missing value for ${flag}`);
      return argv[++i];
    };
    if (flag in numeric) {
      const raw = takeValue();
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) usage(`invalid value for ${flag}: ${raw}`);
      options[numeric[flag]] = n;
    } else if (flag === "--engineio-echo") {
      options.engineioEcho = true;
    } else if (flag === "--allow-eio3") {
      options.allowEIO3 = true;
    } else if (flag === "--cors-origin") {
      options.corsOrigins.push(takeValue());
    } else if (flag === "--help" || flag === "-h") {
      usage("help");
    } else {
      usage(`unknown argument: ${flag}`);
    }
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));

function corsOptions() {
  if (options.corsOrigins.length === 0) return undefined; // no CORS headers at all
  return {
    // "*" allows any origin: reflect the request's origin (a literal "*" is
    // not usable together with credentials).
    origin: options.corsOrigins.includes("*") ? true : options.corsOrigins,
    credentials: true,
    methods: ["GET", "POST", "OPTIONS"],
  };
}

const engineOptions = {
  pingInterval: options.pingInterval,
  pingTimeout: options.pingTimeout,
  maxHttpBufferSize: options.maxPayload,
  transports: ["polling", "websocket"],
  allowUpgrades: true,
  allowEIO3: options.allowEIO3,
  cors: corsOptions(),
};

// Anything that is neither /socket.io/ nor /engine.io/ gets a 404.
const httpServer = createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});

const io = new Server(httpServer, {
  ...engineOptions,
  path: "/socket.io/",
  serveClient: false,
  connectTimeout: options.connectTimeout,
});

function sendAuth(socket) {
  socket.emit("auth", socket.handshake.auth);
}

io.on("connection", (socket) => {
  sendAuth(socket);

  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });

  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });

  socket.on("ask", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    socket.timeout(1000).emit("question", ...args, (err, ...answer) => {
      if (err) socket.emit("answer-timeout");
      else socket.emit("answer", ...answer);
    });
  });

  socket.on("join", async (room, ack) => {
    await socket.join(room);
    if (typeof ack === "function") ack();
  });

  socket.on("leave", async (room, ack) => {
    await socket.leave(room);
    if (typeof ack === "function") ack();
  });

  socket.on("broadcast", (room, ...args) => {
    io.to(room).emit("room-message", ...args);
  });

  socket.on("broadcast-except", (room, exceptRoom, ...args) => {
    io.to(room).except(exceptRoom).emit("room-message", ...args);
  });

  socket.on("broadcast-all", (...args) => {
    io.emit("all-message", ...args);
  });

  socket.on("disconnect-me", () => {
    socket.disconnect();
  });

  socket.on("rooms", (ack) => {
    if (typeof ack === "function") ack([...socket.rooms].sort());
  });
});

io.of("/custom").on("connection", (socket) => {
  sendAuth(socket);
});

if (options.engineioEcho) {
  const engine = new EngineServer({ ...engineOptions, path: "/engine.io/" });
  // destroyUpgrade:false so that this server never tears down websocket
  // upgrades that belong to /socket.io/.
  engine.attach(httpServer, { path: "/engine.io/", destroyUpgrade: false });
  engine.on("connection", (socket) => {
    socket.on("message", (data) => socket.send(data));
  });
}

httpServer.on("error", (err) => {
  process.stderr.write(`echo_server: ${err.message}\n`);
  process.exit(1);
});

httpServer.listen(options.port, "127.0.0.1", () => {
  process.stdout.write(`echo_server listening on 127.0.0.1:${httpServer.address().port}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
