// The reference Socket.IO server (npm socket.io 4.8.x) for the client
// direction of the conformance suite: `node server.js <port>`, or
// `node server.js <port> <cert.pem> <key.pem>` to serve over https (the
// client-tls scenario, with a certificate made at test time). Prints
// `LISTENING <port>` once it accepts connections. Both transports, as the
// default server: the client scenarios check which one carried them.
// With SIO_PARSER=msgpack it speaks npm socket.io-msgpack-parser.
"use strict";
const { Server } = require("socket.io");
const options = process.env.SIO_PARSER === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {};

const port = Number(process.argv[2]);
const [certFile, keyFile] = process.argv.slice(3);
let io;
if (certFile) {
  const fs = require("fs");
  const https = require("https");
  const server = https.createServer({
    cert: fs.readFileSync(certFile),
    key: fs.readFileSync(keyFile),
  });
  io = new Server(server, options);
  server.listen(port);
} else {
  io = new Server(port, options);
}
// What "seq" events this process got, in order (the reconnection scenario).
const seqs = [];
// Why each /admin socket left, by id (the namespace-leave scenario).
const adminLeft = new Map();

io.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "bad") {
    const err = new Error("not authorized");
    err.data = { code: 42, reason: "bad token" };
    return next(err);
  }
  next();
});

io.on("connection", (socket) => {
  // The transport the connection opened with, and whether it upgraded.
  const initial = socket.conn.transport.name;
  let upgraded = null;
  socket.conn.on("upgrade", (transport) => {
    upgraded = transport.name;
  });
  // Drops the first ack of each value: the client's retries resend it.
  const retried = [];
  socket.on("retry-me", (n, ack) => {
    const again = retried.includes(n);
    retried.push(n);
    if (again) ack(n);
  });
  socket.on("retry-report", (ack) => ack(retried));
  socket.on("transport-info", (ack) =>
    ack({ initial, current: socket.conn.transport.name, upgraded }),
  );
  socket.on("get-auth", (ack) => ack(socket.handshake.auth));
  socket.on("get-query", (ack) => ack(socket.handshake.query.token ?? null));
  socket.on("echo", (...args) => socket.emit("echo-reply", ...args));
  socket.on("ack-me", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("no-ack", () => {});
  socket.on("ask-me", (n) => {
    socket.timeout(2000).emit("question", n, (err, answer) => {
      socket.emit("answer", err ? "timeout" : answer);
    });
  });
  socket.on("ask-silent", () => {
    socket.timeout(300).emit("silent", (err) => {
      socket.emit("answer", err ? "timeout" : "answered");
    });
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack(socket.rooms.has(room));
  });
  socket.on("shout", (room, msg) => io.to(room).emit("room-msg", msg));
  socket.on("seq", (n) => {
    seqs.push(n);
    console.log(`SEQ ${n}`);
  });
  socket.on("report", (ack) => ack(seqs));
  socket.on("admin-left", (id, ack) => ack(adminLeft.get(id) ?? null));
  socket.on("kick-me", () => socket.disconnect());
});

io.of("/admin").on("connection", (socket) => {
  socket.on("whoami", (ack) => ack("admin", socket.nsp.name));
  socket.on("disconnect", (reason) => {
    adminLeft.set(socket.id, reason);
  });
});

// A second server on the same port, path /recovery/, with connection state
// recovery on (a short window), for client-recovery: "arm" makes the
// socket's disconnect send "missed" 1..=20 (odd ones to the socket, even
// ones to its room), "drop-me" closes its connection ("forced close"),
// refusing new ones for the given milliseconds (to outlast the window).
let refuseUntil = 0;
const recoveryIo = new Server(io.httpServer, {
  path: "/recovery/",
  connectionStateRecovery: { maxDisconnectionDuration: 1500 },
  allowRequest: (req, callback) => callback(null, Date.now() >= refuseUntil),
});
recoveryIo.on("connection", (socket) => {
  socket.emit("welcome", socket.id);
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack();
  });
  socket.on("state", (ack) => ack(socket.recovered, [...socket.rooms].sort()));
  socket.on("arm", (room, ack) => {
    socket.on("disconnect", () => {
      for (let i = 1; i <= 20; i++) {
        if (i % 2 === 1) socket.emit("missed", i, "odd");
        else recoveryIo.to(room).emit("missed", i, "even");
      }
    });
    ack();
  });
  socket.on("drop-me", (refuseMs) => {
    refuseUntil = Date.now() + (refuseMs || 0);
    socket.conn.close();
  });
});

io.httpServer.on("listening", () => console.log(`LISTENING ${port}`));
