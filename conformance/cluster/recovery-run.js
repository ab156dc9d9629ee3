// Connection state recovery across nodes, on the Redis Streams adapter: an
// npm client connected to node A (in room "r") gets a socket.emit from A
// (which must carry an offset, as Node's does: it goes through the
// adapter), is cut off; A socket.emits to it once more (its disconnect
// handler), keeps its session in Redis and is stopped (SIGKILL); node B
// broadcasts to the room meanwhile; the client comes back through node B
// and must get its old id and everything emitted to it meanwhile, A's
// socket.emit among them, in order, with `recovered === true`. Then A is
// shut down instead (sio: `shutdown` on stdin; Node: SIGTERM, io.close())
// while the client is connected, and the client recovers through B. Nodes are sio cluster servers or node-server.js,
// all with RECOVERY=1 and CLUSTER_ADAPTER=streams.
//
// Usage: node recovery-run.js [--pairs sio-tokio:node,node:sio-tokio] [--sio-bin PATH]
// Needs redis-server on PATH and `npm ci` in conformance/. Prints
// `N passed, N failed`; exits 1 on failure.
"use strict";

const { io: connect } = require("socket.io-client");
const { createClient } = require("redis");
const { Redis, freePort } = require("./redis-server");
const { defaultSioBin, startServer } = require("./nodes");

/// What the nodes of this run are started with.
const RECOVERY_ENV = { CLUSTER_ADAPTER: "streams", RECOVERY: "1" };

const PATIENCE_MS = 15000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, predicate) {
  const deadline = Date.now() + PATIENCE_MS;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function args() {
  const argv = process.argv.slice(2);
  const opts = { pairs: [["sio-tokio", "sio-tokio"], ["sio-tokio", "node"], ["node", "sio-tokio"]], sioBin: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--pairs") opts.pairs = argv[++i].split(",").map((p) => p.split(":"));
    else if (argv[i] === "--sio-bin") opts.sioBin = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!opts.sioBin) opts.sioBin = defaultSioBin();
  return opts;
}

async function kill(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGKILL");
  await exited;
}

async function client(url, auth) {
  const socket = connect(url, { auth, reconnection: false, forceNew: true, transports: ["websocket"] });
  const msgs = [];
  socket.on("msg", (payload) => msgs.push(payload));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return { socket, msgs };
}

const ask = (c, event, ...rest) => c.socket.timeout(PATIENCE_MS).emitWithAck(event, ...rest);

async function recoverAcross(redis, [kindA, kindB], sioBin, store) {
  const procs = [];
  const clients = [];
  try {
    const urls = [];
    for (const [i, kind] of [kindA, kindB].entries()) {
      const port = await freePort();
      procs.push(await startServer(kind, port, redis.url, `${kind}-${"AB"[i]}`, sioBin, RECOVERY_ENV));
      urls.push(`http://127.0.0.1:${port}`);
    }
    const c = await client(urls[0], { name: "c", room: "r", farewell: true });
    const o = await client(urls[1], { name: "o" });
    clients.push(c, o);
    const before = await ask(c, "whoami");
    // Once the nodes count each other, a room broadcast from B reaches c on A.
    await waitFor("the nodes to count each other", async () =>
      (await ask(o, "sse", { formed: 1 })).replies.length === 1);
    await ask(o, "to-room", { room: "r", payload: { seq: "m0" } });
    await waitFor("m0 on the client through node A", () => c.msgs.some((m) => m.seq === "m0"));
    assert(c.socket._pid, "no private session id from node A (is recovery on?)");
    // A socket.emit gets its own offset (a stream id), as a broadcast does.
    const afterM0 = c.socket._lastOffset;
    await ask(c, "self-emit", { seq: "s0" });
    await waitFor("s0 on the client", () => c.msgs.some((m) => m.seq === "s0"));
    const afterS0 = c.socket._lastOffset;
    assert(/^[0-9]+-[0-9]+$/.test(afterS0) && afterS0 !== afterM0,
      `socket.emit carried no offset of its own (offset ${afterS0}, after m0 ${afterM0})`);
    // Cut off; A keeps the session in Redis; then A is gone.
    const pid = c.socket._pid;
    const kept = new Promise((r) => c.socket.once("disconnect", r));
    c.socket.io.engine.close();
    await kept;
    await waitFor(`session ${pid} in Redis`, async () => (await store.exists(`sio:session:${pid}`)) === 1);
    // A's socket.emit to the gone socket is on the stream before A is killed.
    await waitFor("A's farewell on the stream", async () =>
      (await store.xRange("socket.io", "-", "+")).some((e) => (e.message.data || "").includes('"bye"')));
    await kill(procs[0]);
    // Broadcast from B while the client is away: to its room, to everyone,
    // to a room it is not in.
    await ask(o, "to-room", { room: "r", payload: { seq: "m1" } });
    await ask(o, "to-room", { room: "other", payload: { seq: "not-for-c" } });
    await ask(o, "to-room", { room: "*", payload: { seq: "m2" } });
    await ask(o, "to-room", { room: "r", payload: { seq: "m3" } });
    c.socket.io.uri = urls[1];
    const back = new Promise((resolve, reject) => {
      c.socket.once("connect", resolve);
      c.socket.once("connect_error", reject);
    });
    c.socket.connect();
    await back;
    assert(c.socket.recovered === true, `recovered is ${c.socket.recovered}`);
    assert(c.socket.id === before.id, `id ${c.socket.id}, was ${before.id}`);
    const seqs = c.msgs.map((m) => m.seq);
    assert(JSON.stringify(seqs) === JSON.stringify(["m0", "s0", "bye", "m1", "m2", "m3"]),
      `received ${JSON.stringify(seqs)}`);
    const now = await ask(c, "whoami");
    assert(now.rooms.includes("r"), `rooms after recovery ${now.rooms}`);
  } finally {
    for (const x of clients) x.socket.close();
    for (const p of procs) await kill(p);
  }
}

/// A shut down instead (sio: `shutdown` on stdin, SocketIo::shutdown; Node:
/// SIGTERM, io.close()) while the client is connected: the sessions it
/// closes are kept before it leaves, and the client recovers through B.
async function recoverAfterShutdown(redis, [kindA, kindB], sioBin) {
  const procs = [];
  const clients = [];
  try {
    const urls = [];
    for (const [i, kind] of [kindA, kindB].entries()) {
      const port = await freePort();
      procs.push(await startServer(kind, port, redis.url, `${kind}-${"AB"[i]}`, sioBin, RECOVERY_ENV));
      urls.push(`http://127.0.0.1:${port}`);
    }
    const c = await client(urls[0], { name: "c", room: "r" });
    const o = await client(urls[1], { name: "o" });
    clients.push(c, o);
    const before = await ask(c, "whoami");
    await waitFor("the nodes to count each other", async () =>
      (await ask(o, "sse", { formed: 1 })).replies.length === 1);
    await ask(c, "self-emit", { seq: "s0" });
    await waitFor("s0 on the client", () => c.msgs.some((m) => m.seq === "s0"));
    const gone = new Promise((r) => c.socket.once("disconnect", r));
    const exited = new Promise((r) => procs[0].once("exit", r));
    if (kindA === "node") procs[0].kill("SIGTERM");
    else procs[0].stdin.write("shutdown\n");
    await Promise.all([gone, exited]);
    await ask(o, "to-room", { room: "r", payload: { seq: "m1" } });
    c.socket.io.uri = urls[1];
    const back = new Promise((resolve, reject) => {
      c.socket.once("connect", resolve);
      c.socket.once("connect_error", reject);
    });
    c.socket.connect();
    await back;
    assert(c.socket.recovered === true, `recovered is ${c.socket.recovered}`);
    assert(c.socket.id === before.id, `id ${c.socket.id}, was ${before.id}`);
    const seqs = c.msgs.map((m) => m.seq);
    assert(JSON.stringify(seqs) === JSON.stringify(["s0", "m1"]), `received ${JSON.stringify(seqs)}`);
  } finally {
    for (const x of clients) x.socket.close();
    for (const p of procs) await kill(p);
  }
}

async function main() {
  const opts = args();
  const redis = new Redis(await freePort());
  await redis.start();
  const store = createClient({ url: redis.url });
  await store.connect();
  let passed = 0;
  let failed = 0;
  try {
    for (const pair of opts.pairs) {
      const name = `recovery from ${pair[0]} to ${pair[1]}: every missed socket.emit and broadcast, in order, recovered`;
      try {
        await recoverAcross(redis, pair, opts.sioBin, store);
        passed++;
        console.log(`ok - ${name}`);
      } catch (err) {
        failed++;
        console.log(`not ok - ${name}: ${err.message}`);
      }
      const shut = `recovery from ${pair[0]} shut down to ${pair[1]}: the session kept before it left`;
      try {
        await recoverAfterShutdown(redis, pair, opts.sioBin);
        passed++;
        console.log(`ok - ${shut}`);
      } catch (err) {
        failed++;
        console.log(`not ok - ${shut}: ${err.message}`);
      }
    }
  } finally {
    await store.quit();
    await redis.kill();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
