"use strict";
// The npm client with `withCredentials: true` (engine.io-client's Node
// cookie jar), long-polling only, through the cookie routing proxy at the
// URL to two sio servers with the `io` cookie on: every request of the
// session reaches the server that made it, so it connects and twenty
// round trips all answer from one server, on one session.
const t = require("./lib");

t.run(async () => {
  t.step("connect through the proxy");
  const socket = t.client("/", { transports: ["polling"], withCredentials: true });
  let closed = null;
  socket.io.on("close", (reason) => {
    closed = reason;
  });
  await t.connected(socket);
  const sid = socket.io.engine.id;

  t.step("round trips");
  const names = new Set();
  for (let i = 0; i < 20; i++) {
    const [name] = await t.emitAck(socket, "server-name");
    names.add(name);
  }
  t.check(names.size === 1, `answers from ${names.size} servers: ${[...names].join(", ")}`);
  t.check(closed === null, `the connection closed: ${closed}`);
  t.check(socket.io.engine.id === sid, "the Engine.IO session changed");
  socket.disconnect();
});
