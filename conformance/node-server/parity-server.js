// The reference server (npm socket.io 4.8.x, `cookie: true`) for the
// client-parity and client-cookie-routing rows: `node parity-server.js
// <port>`, prints `LISTENING <port>`. It records every Engine.IO request
// it gets (polling GETs and POSTs, WebSocket upgrades) with its
// `X-Sio-Test` header, for the client's extra headers; answers
// `server-name` with a name of its own (two of them sit behind the cookie
// routing proxy); and drops a connection on `drop-transport` (the client
// reconnects: a fresh auth, `rememberUpgrade`).
"use strict";
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const io = new Server(port, { cookie: true });
const name = `node-${process.pid}`;

// Engine.IO requests seen, oldest first (bounded: the rows make few).
const seen = [];
function record(req) {
  const url = new URL(req.url, "http://localhost");
  if (seen.length >= 1000) seen.shift();
  seen.push({
    sid: url.searchParams.get("sid"),
    transport: url.searchParams.get("transport"),
    method: req.method,
    upgrade: (req.headers.upgrade || "").toLowerCase() === "websocket",
    header: req.headers["x-sio-test"] ?? null,
  });
}
io.httpServer.prependListener("request", record);
io.httpServer.prependListener("upgrade", record);

function common(socket) {
  socket.on("engine-id", (ack) => ack(socket.conn.id));
  socket.on("server-name", (ack) => ack(name));
  socket.on("get-auth", (ack) => ack(socket.handshake.auth));
  socket.on("drop-transport", () => socket.conn.close());
}

io.on("connection", (socket) => {
  common(socket);
  const initial = socket.conn.transport.name;
  let upgraded = null;
  socket.conn.on("upgrade", (transport) => {
    upgraded = transport.name;
  });
  socket.on("transport-info", (ack) =>
    ack({ initial, current: socket.conn.transport.name, upgraded }),
  );
  // The handshake's header, and every later request of this session.
  socket.on("seen-headers", (ack) =>
    ack({
      handshake: socket.handshake.headers["x-sio-test"] ?? null,
      requests: seen.filter((r) => r.sid === socket.conn.id),
    }),
  );
});
io.of("/admin").on("connection", common);

io.httpServer.on("listening", () => console.log(`LISTENING ${port}`));
