// The reference server (npm socket.io 4.8.x) with `perMessageDeflate: true`
// and `httpCompression` at its default, for the client-compression rows:
// `node compression-server.js <port>`, prints `LISTENING <port>`. It
// reports what crossed the wire: the Content-Encoding of each polling
// response of a session, the WebSocket extensions agreed and the bytes
// its TCP socket read and wrote.
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const httpServer = http.createServer();
const io = new Server(httpServer, { perMessageDeflate: true });
// sid -> the Content-Encoding of each of its polling responses. Listening
// before engine.io does (it replaced the request listeners when attached).
const encodings = new Map();
httpServer.prependListener("request", (req, res) => {
  const sid = new URL(req.url, "http://localhost").searchParams.get("sid");
  if (!sid) return;
  const writeHead = res.writeHead;
  res.writeHead = function (status, ...rest) {
    const headers = rest.find((h) => h && typeof h === "object" && !Array.isArray(h)) || {};
    if (!encodings.has(sid)) encodings.set(sid, []);
    encodings.get(sid).push(headers["Content-Encoding"] || "identity");
    return writeHead.call(this, status, ...rest);
  };
});

io.on("connection", (socket) => {
  socket.on("big", (len, ack) => ack("sio compresses this line; ".repeat(Math.ceil(len / 26)).slice(0, len)));
  socket.on("echo", (value, ack) => ack(value));
  socket.on("wire", (ack) => {
    const transport = socket.conn.transport;
    const ws = transport.name === "websocket" ? transport.socket : null;
    const tcp = ws && ws._socket;
    ack({
      transport: transport.name,
      extensions: ws ? ws.extensions : null,
      bytesRead: tcp ? tcp.bytesRead : 0,
      bytesWritten: tcp ? tcp.bytesWritten : 0,
      encodings: encodings.get(socket.conn.id) || [],
    });
  });
  socket.on("disconnect", () => encodings.delete(socket.conn.id));
});

httpServer.listen(port, () => console.log(`LISTENING ${port}`));
