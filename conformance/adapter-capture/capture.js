// Records every message @socket.io/redis-adapter publishes while two Node
// socket.io servers share one Redis, and writes them as fixtures for
// sio-core's adapter tests (core/tests/adapter.rs).
//
// Usage: npm ci && node capture.js [out-file]
// Needs `redis-server` on PATH; it is started on a free loopback port and
// stopped at the end. Output: one line per message,
// `step<TAB>channel<TAB>hex of the payload`.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { createClient } = require("redis");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { io: connect } = require("socket.io-client");
const { Redis, freePort } = require("../cluster/redis-server");

const OUT = process.argv[2] ||
  path.join(__dirname, "../../core/tests/fixtures/adapter/captures.tsv");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startNode(url) {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
  io.of("/admin"); // a second namespace, for its channels
  const port = await freePort();
  await new Promise((r) => httpServer.listen(port, "127.0.0.1", r));
  return { io, pub, sub, httpServer, port };
}

function connectClient(port, nsp = "/") {
  const socket = connect(`http://127.0.0.1:${port}${nsp}`, {
    transports: ["websocket"],
    auth: { name: "capture" },
  });
  return new Promise((resolve) => socket.on("connect", () => resolve(socket)));
}

async function main() {
  const redis = new Redis(await freePort());
  await redis.start();
  const url = redis.url;
  const records = [];
  let step = "setup";
  const recorder = createClient({ url });
  await recorder.connect();
  await recorder.pSubscribe("*", (message, channel) => {
    records.push([step, channel.toString(), Buffer.from(message).toString("hex")]);
  }, true);

  const a = await startNode(url);
  const b = await startNode(url);
  b.io.on("connection", (socket) => {
    socket.join(["room1", "room3"]);
    socket.data = {
      role: "tester", score: 1.5, tiny: 0.000001, huge: 1e21,
      since: new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 678)),
    };
  });
  b.io.on("ping", (...args) => {
    void args;
  });
  b.io.on("ask", (arg, cb) => cb({ answer: arg.q + 1 }));
  a.io.on("connection", (socket) => {
    socket.join("room3");
    // socket.broadcast: everyone but the sender (its id is in `except`).
    socket.on("relay", (arg) => socket.broadcast.emit("relayed", arg));
  });

  const clientB = await connectClient(b.port);
  clientB.on("question", (n, cb) => cb(n === 7 ? `answer ${n}` : Buffer.from([n])));
  const clientA = await connectClient(a.port);
  const clientAdmin = await connectClient(b.port, "/admin");
  await sleep(200);

  const run = async (name, action) => {
    step = name;
    await action();
    await sleep(300);
  };

  await run("room_binary", () =>
    a.io.to("room1").emit("hello", "world", Buffer.from([1, 2, 3]), {
      n: 1.5, neg: -200, big: 70000, nested: [true, null, "é"],
    }, new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 678))));
  await run("socket_broadcast", () => clientA.emit("relay", "from a"));
  await run("except", () => a.io.except("room1").emit("news", 42));
  await run("rooms_and_except", () =>
    a.io.to(["room1", "room2"]).except("room3").emit("multi", { deep: { bin: Buffer.alloc(300, 7) } }));
  await run("flags", () => a.io.volatile.compress(false).to("room1").emit("quiet"));
  await run("namespace", () => a.io.of("/admin").emit("admin", "hi"));
  await run("fetch_sockets", async () => {
    const sockets = await a.io.in("room1").fetchSockets();
    if (sockets.length !== 1) throw new Error(`fetchSockets: ${sockets.length}`);
  });
  await run("all_rooms", async () => {
    const rooms = await a.io.of("/").adapter.allRooms();
    if (!rooms.has("room1")) throw new Error("allRooms lacks room1");
  });
  await run("sockets_join", () => a.io.in("room1").socketsJoin(["room4", "room5"]));
  await run("sockets_leave", () => a.io.in("room4").except("room5").socketsLeave("room4"));
  await run("server_side_emit", () => a.io.serverSideEmit("ping", 1, "two", [3.25]));
  await run("server_side_emit_binary", () => a.io.serverSideEmit("raw", Buffer.from([0, 255])));
  await run("server_side_emit_ack", async () => {
    const replies = await a.io.serverSideEmitWithAck("ask", { q: 41 });
    if (replies.length !== 1) throw new Error(`serverSideEmitWithAck: ${replies}`);
  });
  await run("broadcast_ack", async () => {
    const answers = await a.io.timeout(2000).to("room1").emitWithAck("question", 7);
    if (answers[0] !== "answer 7") throw new Error(`emitWithAck: ${answers}`);
  });
  await run("broadcast_ack_binary", async () => {
    const answers = await a.io.timeout(2000).to("room1").emitWithAck("question", 9);
    if (!Buffer.isBuffer(answers[0]) || answers[0][0] !== 9) throw new Error(`emitWithAck: ${answers}`);
  });
  await run("disconnect_sockets", () => a.io.in("room1").disconnectSockets(true));

  step = "teardown";
  clientA.close();
  clientB.close();
  clientAdmin.close();
  for (const node of [a, b]) {
    node.io.close();
    await node.pub.quit().catch(() => {});
    await node.sub.quit().catch(() => {});
  }
  await recorder.quit();
  await redis.kill();

  const lines = records
    .filter(([s]) => s !== "setup" && s !== "teardown")
    .map((r) => r.join("\t"));
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, lines.join("\n") + "\n");
  console.log(`${lines.length} messages written to ${OUT}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
