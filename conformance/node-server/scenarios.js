// The npm `socket.io` server serving a few of sio's conformance scenarios
// (conformance/src/scenarios.rs), the same events and answers: where a
// client other than the npm one behaves differently with sio, its script
// runs against this server too, to tell a sio bug from a client's habit
// (conformance/clients/KNOWN-DIFFERENCES.md).
// `node scenarios.js <scenario>` listens on a free port of 127.0.0.1 and
// prints `PORT <n>`, as scenario-server does.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

// Answers `echo` with its arguments.
function echo(socket) {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
}

const scenarios = {
  binary(io) {
    io.on("connection", (socket) => {
      echo(socket);
      socket.on("reflect", (...args) => socket.emit("reflect", ...args));
      socket.on("typed-bin", (name, data, list, ack) =>
        ack(name, Buffer.from(data).reverse(), list.map((b) => b.length)));
      socket.emit("server-bin", Buffer.from([0, 1, 2, 255]), {
        label: "doc",
        blob: Buffer.from("blob"),
        parts: [Buffer.alloc(0), Buffer.alloc(1000, 7)],
        deep: [[Buffer.from("x")]],
      }, "after");
    });
  },
  "json-types"(io) {
    io.on("connection", (socket) => {
      echo(socket);
      socket.on("no-args", () => socket.emit("nothing"));
      socket.on("reflect", (...args) => socket.emit("reflect", ...args));
      socket.on("typed", (...args) => args.pop()(...args));
      socket.on("événement 🎉", (text, ack) => ack([...text].length, text));
      socket.emit("server-types", null, true, false, 0, -1, 9007199254740991, 0.5, 1e300,
        "héllo wörld ☃ 🎉 \"q\" \\ \n\t\u0000\u2028", [[1, 2], [], [3]],
        { name: "n", tags: ["a", "b"], inner: { x: -1.25, y: null }, empty: [] });
    });
  },
  // Every departure is announced to whoever is left.
  disconnect(io) {
    for (const nsp of [io.of("/"), io.of("/other")]) {
      nsp.on("connection", (socket) => {
        socket.on("disconnect", (reason) => io.emit("left", socket.id, reason));
        socket.on("kick-me", () => socket.disconnect());
        socket.on("kick-me-hard", () => socket.disconnect(true));
        echo(socket);
      });
    }
  },
};

const name = process.argv[2];
const setup = scenarios[name];
if (!setup) {
  console.error(`unknown scenario ${JSON.stringify(name)}; known: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
const server = http.createServer();
const io = new Server(server);
setup(io);
server.listen(0, "127.0.0.1", () => console.log(`PORT ${server.address().port}`));
// Exits with its runner, as scenario-server does.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
