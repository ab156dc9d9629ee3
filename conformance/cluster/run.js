// Runs the mixed-cluster checks: starts its own redis-server on a free
// loopback port, three cluster servers on it, then cluster-check.js.
//
// Usage: node run.js [--restart] [--servers node,node,node] [--sio-bin PATH]
//                    [--adapter pubsub|streams|sharded]
//   --servers  what each of the three nodes runs: `node` (node-server.js)
//              or `sio-<runtime>` (the sio cluster server binary with that
//              runtime: sio-tokio, sio-smol, sio-async-std).
//   --sio-bin  the sio cluster server binary (default: the workspace's
//              target/debug/cluster-server, or $CARGO_TARGET_DIR's).
//   --restart  also kill and restart Redis in the middle of the run.
//   --redis    `single` (default: a redis-server of its own), `cluster` (a
//              3-master Redis Cluster) or `tls` (a TLS-only redis-server
//              whose certificate a private CA signed, given to every node
//              in REDIS_CA), all from scripts/redis-services.
//   --adapter  `pubsub` (default: @socket.io/redis-adapter, sio-redis's
//              RedisAdapter) or `streams` (@socket.io/redis-streams-adapter,
//              RedisStreamsAdapter) or `sharded` (createShardedAdapter,
//              RedisAdapter::sharded; needs --redis cluster), passed to
//              every node as CLUSTER_ADAPTER.
// Needs redis-server on PATH (scripts/install-redis) and `npm ci` in
// conformance/. Prints `N passed, N failed`; exits 1 on failure.
"use strict";

const { runChecks } = require("./cluster-check");
const { Redis, freePort } = require("./redis-server");
const { defaultSioBin, startServer } = require("./nodes");
const { startServices, waitForSubscriptions, waitForShardChannel } = require("./redis-services");

function args() {
  const argv = process.argv.slice(2);
  const opts = { restart: false, servers: ["node", "node", "node"], sioBin: null, adapter: "pubsub" };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--restart") opts.restart = true;
    else if (argv[i] === "--servers") opts.servers = argv[++i].split(",");
    else if (argv[i] === "--sio-bin") opts.sioBin = argv[++i];
    else if (argv[i] === "--redis") opts.redis = argv[++i];
    else if (argv[i] === "--adapter") opts.adapter = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (opts.servers.length !== 3) throw new Error("--servers takes three nodes");
  if (!["pubsub", "streams", "sharded"].includes(opts.adapter)) throw new Error(`unknown adapter ${opts.adapter}`);
  if (opts.adapter === "sharded" && opts.redis !== "cluster") throw new Error("--adapter sharded needs --redis cluster");
  process.env.CLUSTER_ADAPTER = opts.adapter;
  if (!opts.sioBin) opts.sioBin = defaultSioBin();
  return opts;
}

/// The Redis the nodes share: `redis` (single only, for --restart) and the
/// URL the nodes get (`cluster:URL,...` for a cluster).
async function startRedis(opts) {
  const kind = opts.redis || "single";
  if (kind === "single") {
    const redis = new Redis(await freePort());
    await redis.start();
    return { redis, redisUrl: redis.url, ready: async () => {} };
  }
  if (kind !== "cluster" && kind !== "tls") throw new Error(`unknown --redis ${kind}`);
  if (opts.restart) throw new Error("--restart needs --redis single");
  const services = await startServices(kind);
  if (kind === "tls") process.env.REDIS_CA = services.ca;
  const redisUrl = kind === "cluster" ? `cluster:${services.urls.join(",")}` : services.urls[0];
  const sharded = opts.adapter === "sharded";
  // Streams nodes subscribe to nothing: they wait to count each other instead.
  const subscribes = kind === "cluster" && opts.adapter !== "streams";
  const ready = subscribes ? (n) => waitForSubscriptions(services.urls, n, "socket.io", sharded) : async () => {};
  // The sharded adapter: a room's shard channel, subscribed by `n` nodes.
  const roomSubscribed = sharded ? (room, n) => waitForShardChannel(services.urls, `socket.io#/#${room}#`, n) : undefined;
  return { redis: { kill: services.stop }, redisUrl, ready, roomSubscribed };
}

async function main() {
  const opts = args();
  const { redis, redisUrl, ready, roomSubscribed } = await startRedis(opts);
  const procs = [];
  let failed = 1;
  try {
    const urls = [];
    for (const [i, kind] of opts.servers.entries()) {
      const port = await freePort();
      const name = `${kind}-${i}`;
      procs.push(await startServer(kind, port, redisUrl, name, opts.sioBin));
      urls.push(`http://127.0.0.1:${port}`);
    }
    await ready(procs.length);
    console.log(`cluster: ${opts.servers.join(", ")} on ${redisUrl} (${opts.adapter} adapter)`);
    const results = await runChecks(urls, {
      ...(opts.restart ? { redis } : {}),
      // Nodes on the streams adapter know each other by heartbeats.
      waitFormed: opts.adapter === "streams",
      kinds: opts.servers,
      roomSubscribed,
    });
    console.log(`${results.passed} passed, ${results.failed} failed`);
    failed = results.failed;
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    await redis.kill();
  }
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
