// The bench app's Redis fan-out on the Node socket.io server with
// @socket.io/redis-adapter over node-redis (pub client and its duplicate
// for sub, as the adapter's docs do), all defaults otherwise: every socket
// joins room `bench`; `fanout` emits `tick` with the payload to the room,
// on this server and, through Redis, on the others.
//
// PORT and REDIS_URL in the environment; ADAPTER=streams for
// @socket.io/redis-streams-adapter (on the pub client alone) instead.
const { createServer } = require("node:http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-adapter");

const port = Number(process.env.PORT || 3000);
const redisUrl = process.env.REDIS_URL || "redis://127.0.0.1:6379";

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = createServer();
  const adapter = process.env.ADAPTER === "streams"
    ? require("@socket.io/redis-streams-adapter").createAdapter(pub)
    : createAdapter(pub, sub);
  const io = new Server(httpServer, { adapter });
  io.on("connection", (socket) => {
    socket.join("bench");
    socket.on("fanout", (data) => {
      io.to("bench").emit("tick", data);
    });
  });
  // Loopback only, as the Rust servers.
  httpServer.listen(port, "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${port}`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
