// A node that shuts down leaves the cluster at once, on the Redis Streams
// adapter: three nodes (A, B, C) whose heartbeat timeout is a minute
// (HEARTBEAT_TIMEOUT_MS), so that only ADAPTER_CLOSE can drop a node in
// time. A is shut down (a sio node: `shutdown` on its stdin, which calls
// SocketIo::shutdown; a Node node: SIGTERM, io.close()); then a
// serverSideEmit with ack and a fetchSockets from B and from C must
// complete without waiting for A (a node still counted would make them
// fail after the 3 s requests timeout). Then B is shut down and C's
// serverSideEmit must expect nobody.
//
// Usage: node close-run.js [--servers sio-tokio,node,sio-tokio] [--sio-bin PATH]
// Needs redis-server on PATH and `npm ci` in conformance/. Prints
// `N passed, N failed`; exits 1 on failure.
"use strict";

const { io: connect } = require("socket.io-client");
const { Redis, freePort } = require("./redis-server");
const { defaultSioBin, startServer } = require("./nodes");

/// What the nodes of this run are started with.
const CLOSE_ENV = { CLUSTER_ADAPTER: "streams", HEARTBEAT_TIMEOUT_MS: "60000" };

const PATIENCE_MS = 15000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function args() {
  const argv = process.argv.slice(2);
  const opts = { servers: ["sio-tokio", "node", "sio-tokio"], sioBin: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--servers") opts.servers = argv[++i].split(",");
    else if (argv[i] === "--sio-bin") opts.sioBin = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (opts.servers.length !== 3) throw new Error("--servers takes three nodes");
  if (!opts.sioBin) opts.sioBin = defaultSioBin();
  return opts;
}

/// Shuts a node down the way its server does it, and waits for its exit.
async function shutDown(proc) {
  const exited = new Promise((r) => proc.once("exit", r));
  if (proc.kind === "node") proc.kill("SIGTERM");
  else proc.stdin.write("shutdown\n");
  await exited;
}

async function client(url) {
  const socket = connect(url, { reconnection: false, forceNew: true, transports: ["websocket"] });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

const ask = (socket, event, ...rest) => socket.timeout(PATIENCE_MS).emitWithAck(event, ...rest);

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/// `sse` from `socket` until its node counts `n` other nodes.
async function waitForCount(socket, n) {
  const deadline = Date.now() + PATIENCE_MS;
  for (;;) {
    const reply = await ask(socket, "sse", { count: n });
    if (reply.error === null && reply.replies.length === n) return;
    if (Date.now() > deadline) throw new Error(`the nodes never counted ${n} others`);
    await sleep(20);
  }
}

/// A serverSideEmit with ack from `socket`'s node: no error, `n` replies.
async function expectOthers(socket, n, who) {
  const reply = await ask(socket, "sse", { after: "close" });
  assert(reply.error === null, `${who}: serverSideEmit failed: ${reply.error}`);
  assert(reply.replies.length === n, `${who}: ${reply.replies.length} replies, expected ${n}`);
}

async function main() {
  const opts = args();
  const redis = new Redis(await freePort());
  await redis.start();
  const procs = [];
  const sockets = [];
  let passed = 0;
  let failed = 0;
  const check = async (name, f) => {
    try {
      await f();
      passed++;
      console.log(`ok - ${name}`);
    } catch (err) {
      failed++;
      console.log(`not ok - ${name}: ${err.message}`);
    }
  };
  try {
    for (const [i, kind] of opts.servers.entries()) {
      const port = await freePort();
      procs.push(await startServer(kind, port, redis.url, `${kind}-${"ABC"[i]}`, opts.sioBin, CLOSE_ENV));
      sockets.push(await client(`http://127.0.0.1:${port}`));
    }
    console.log(`close: ${opts.servers.join(", ")} on ${redis.url} (streams adapter)`);
    const [, b, c] = sockets;
    for (const s of sockets) await waitForCount(s, 2);
    await shutDown(procs[0]);
    await check(`${opts.servers[0]} shut down: dropped at once by the others`, async () => {
      await expectOthers(b, 1, opts.servers[1]);
      await expectOthers(c, 1, opts.servers[2]);
      for (const [s, kind] of [[b, opts.servers[1]], [c, opts.servers[2]]]) {
        const fetched = await ask(s, "fetch");
        const ids = fetched.map((x) => x.id).sort();
        assert(JSON.stringify(ids) === JSON.stringify([b.id, c.id].sort()),
          `${kind}: fetchSockets saw ${JSON.stringify(ids)}`);
      }
    });
    await shutDown(procs[1]);
    await check(`${opts.servers[1]} shut down: dropped at once by ${opts.servers[2]}`, async () => {
      await expectOthers(c, 0, opts.servers[2]);
    });
  } finally {
    for (const s of sockets) s.close();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await redis.kill();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
