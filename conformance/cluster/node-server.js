// One node of the mixed cluster, on the reference implementation: npm
// socket.io 4.8 with @socket.io/redis-adapter 8.3 over node-redis (two
// clients: pub and its duplicate for sub, as the adapter's docs do).
//
// Usage: node node-server.js <port> <redis-url> [node-name]
//   (or PORT, REDIS_URL, NODE_NAME in the environment).
// Prints `LISTENING <port>` once it accepts connections. The application is
// described in README.md; a sio cluster server implements the same.
"use strict";

const { Server } = require("socket.io");
const fs = require("node:fs");
const { createClient, createCluster } = require("redis");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
// CLUSTER_ADAPTER=streams: @socket.io/redis-streams-adapter 0.2 on the pub
// client alone (its stream `socket.io`; heartbeats every second so that a
// run does not wait 5 s for the nodes to know each other).
const streams = process.env.CLUSTER_ADAPTER === "streams";

const port = Number(process.argv[2] || process.env.PORT);
const redisUrl = process.argv[3] || process.env.REDIS_URL || "redis://127.0.0.1:6379";
const nodeName = process.argv[4] || process.env.NODE_NAME || `node-${port}`;
// Short enough that a check of a missing answer does not wait long.
const REQUESTS_TIMEOUT = 3000;
// The streams adapter's heartbeats (its defaults: 5000 and 10000 ms).
const HEARTBEAT_INTERVAL = 1000;
// HEARTBEAT_TIMEOUT_MS: close-run.js makes it long, so that only
// ADAPTER_CLOSE drops a node in time.
const HEARTBEAT_TIMEOUT = Number(process.env.HEARTBEAT_TIMEOUT_MS || 5000);

async function main() {
  // `cluster:URL,URL,...`: a Redis Cluster (node-redis's cluster client);
  // REDIS_CA: the PEM CA a rediss:// server's certificate must chain to.
  const tls = process.env.REDIS_CA ? { tls: true, ca: fs.readFileSync(process.env.REDIS_CA) } : undefined;
  const pub = redisUrl.startsWith("cluster:")
    ? createCluster({ rootNodes: redisUrl.slice(8).split(",").map((url) => ({ url })) })
    : createClient({ url: redisUrl, ...(tls ? { socket: tls } : {}) });
  const sub = pub.duplicate();
  // node-redis reconnects on its own; an outage is logged once.
  for (const [role, client] of [["pub", pub], ["sub", sub]]) {
    let down = false;
    client.on("error", (err) => {
      if (!down) console.error(`${nodeName} redis ${role}: ${err.message}`);
      down = true;
    });
    client.on("ready", () => {
      if (down) console.error(`${nodeName} redis ${role}: connected again`);
      down = false;
    });
  }
  await Promise.all([pub.connect(), sub.connect()]);
  // The adapter does not await its PUBLISH calls: with Redis gone, one
  // rejects (EPIPE) and would end the process. Log it and go on serving.
  process.on("unhandledRejection", (err) => {
    console.error(`${nodeName}: unhandled rejection: ${err && err.message}`);
  });

  const io = new Server(port, {
    adapter: streams
      ? require("@socket.io/redis-streams-adapter").createAdapter(pub, {
        heartbeatInterval: HEARTBEAT_INTERVAL, heartbeatTimeout: HEARTBEAT_TIMEOUT })
      : process.env.CLUSTER_ADAPTER === "sharded"
        // CLUSTER_ADAPTER=sharded: sharded pub/sub (Redis 7 cluster), Node's
        // default subscription mode ("dynamic").
        ? createShardedAdapter(pub, sub)
        : createAdapter(pub, sub, { requestsTimeout: REQUESTS_TIMEOUT }),
    // RECOVERY=1 (recovery-run.js): connection state recovery, defaults.
    ...(process.env.RECOVERY === "1" ? { connectionStateRecovery: {} } : {}),
    // The Admin UI's page (ADMIN_UI=1) comes from another origin.
    ...(process.env.ADMIN_UI === "1" ? { cors: { origin: true, credentials: true } } : {}),
  });

  io.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    socket.data = { name: auth.name ?? null, node: nodeName };
    next();
  });

  // Server-side emits from the other nodes.
  // serverSideEmit crosses as JSON in the reference adapter (requests and
  // replies alike), so the check sends no binary through it.
  io.on("ping-node", (payload, ack) => {
    if (typeof ack === "function") ack({ node: nodeName, payload });
  });
  io.on("note", (payload) => io.local.emit("note", { node: nodeName, payload }));

  io.on("connection", (socket) => {
    const { room, farewell } = socket.handshake.auth || {};
    if (typeof room === "string" && room) socket.join(room);
    // Emitted to the socket once it disconnected (kept for it with recovery on).
    if (farewell) socket.on("disconnect", () => socket.emit("msg", { seq: "bye" }));

    // An emit to this socket alone (socket.emit).
    socket.on("self-emit", (payload, ack) => {
      socket.emit("msg", payload);
      ack();
    });

    socket.on("whoami", (ack) =>
      ack({ id: socket.id, node: nodeName, rooms: [...socket.rooms].sort() }));

    // A room broadcast from this node; room "*" is the whole namespace.
    socket.on("to-room", ({ room, payload }, ack) => {
      (room === "*" ? io : io.to(room)).emit("msg", payload);
      if (typeof ack === "function") ack();
    });

    socket.on("fetch", async (ack) => {
      const sockets = await io.fetchSockets();
      ack(sockets.map((s) => ({
        id: s.id, rooms: [...s.rooms].sort(), data: s.data, auth: s.handshake.auth,
      }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)));
    });

    // A broadcast with acks: every member of the room answers "question".
    socket.on("ask-room", async ({ room, n }, ack) => {
      try {
        const answers = await io.timeout(REQUESTS_TIMEOUT).to(room).emitWithAck("question", n);
        ack({ error: null, answers: answers.sort() });
      } catch (err) {
        ack({ error: err.message, answers: [] });
      }
    });

    socket.on("sse", (payload, ack) => {
      io.serverSideEmit("ping-node", payload, (err, replies) => {
        ack({ error: err ? err.message : null, replies: replies || [] });
      });
    });

    socket.on("sse-noack", (payload, ack) => {
      io.serverSideEmit("note", payload);
      ack();
    });

    socket.on("remote-join", ({ id, room }, ack) => {
      io.in(id).socketsJoin(room);
      ack();
    });
    socket.on("remote-leave", ({ id, room }, ack) => {
      io.in(id).socketsLeave(room);
      ack();
    });
    socket.on("remote-disconnect", ({ id }, ack) => {
      io.in(id).disconnectSockets(true);
      ack();
    });
  });

  // With ADMIN_UI=1 (admin-run.js): the Admin UI's reference server side,
  // the node's name as its serverId; the hash is of the suite's password.
  if (process.env.ADMIN_UI === "1") {
    require("@socket.io/admin-ui").instrument(io, {
      auth: { type: "basic", username: "admin",
        password: "$2a$04$p3rlGIw.ZfcxYoyrGqXcFeXvTRe2/SzPGyan2f7htPCc4mANH0iBa" },
      serverId: nodeName,
    });
  }
  io.httpServer.on("listening", () => console.log(`LISTENING ${port}`));

  const stop = async () => {
    io.close();
    // quit(): what the adapter queued (a session to keep) is sent first.
    await Promise.allSettled([pub.quit(), sub.quit()]);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(`${nodeName}: ${err.stack || err}`);
  process.exit(1);
});
