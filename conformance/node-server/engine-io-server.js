// The reference Engine.IO server (npm engine.io 6.6.x) for the sio
// Engine.IO client's rows: `node engine-io-server.js <port>`. Default
// options (path /engine.io/, both transports). Every message comes back as
// sent (text as text, binary as binary), except three commands: "close-me"
// closes the session from the server, "transport" answers with the
// session's transports as JSON, "stall" stops its heartbeat (no more
// pings, no ping deadline: the client must detect it). Prints
// `LISTENING <port>` once it accepts connections, then `CLOSE <reason>`
// for every session that closes.
"use strict";
const http = require("http");
const { Server } = require("engine.io");

const port = Number(process.argv[2]);
const httpServer = http.createServer();
const server = new Server({ pingInterval: 300, pingTimeout: 400 });
server.attach(httpServer);

server.on("connection", (socket) => {
  const initial = socket.transport.name;
  let upgraded = null;
  socket.on("upgrade", (transport) => {
    upgraded = transport.name;
  });
  socket.on("message", (data) => {
    if (data === "close-me") {
      socket.close();
    } else if (data === "stall") {
      // Private fields of engine.io 6.6's Socket: a test-only stall.
      socket.schedulePing = () => {};
      socket.resetPingTimeout = () => {};
      clearTimeout(socket.pingIntervalTimer);
      clearTimeout(socket.pingTimeoutTimer);
    } else if (data === "transport") {
      socket.send(
        JSON.stringify({ initial, current: socket.transport.name, upgraded }),
      );
    } else {
      socket.send(data);
    }
  });
  socket.on("close", (reason) => {
    console.log(`CLOSE ${reason}`);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`LISTENING ${port}`);
});
