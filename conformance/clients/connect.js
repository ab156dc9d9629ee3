"use strict";
// Connect to "/": socket.id is a 20-character string distinct from the
// Engine.IO session id, the server sees the same id, a round trip works.
const t = require("./lib");

t.run(async () => {
  t.step("connect to /");
  const socket = t.client();
  const welcome = t.once(socket, "welcome");
  await t.connected(socket);
  t.check(socket.connected === true, "socket.connected is not true after connect");
  t.check(typeof socket.id === "string", `socket.id is ${typeof socket.id}, expected a string`);
  t.check(socket.id.length === 20, `socket.id ${JSON.stringify(socket.id)} has ${socket.id.length} chars, expected 20`);

  t.step("engine session id");
  const sid = socket.io.engine.id;
  t.check(typeof sid === "string" && sid.length === 20, `engine id ${JSON.stringify(sid)}, expected 20 chars`);
  t.check(sid !== socket.id, "socket.id equals the Engine.IO session id (v5 keeps them apart)");

  t.step("server's view of the socket");
  t.same(await welcome, [socket.id, "/"], "welcome (server's socket.id and namespace)");

  t.step("round trip");
  t.same(await t.emitAck(socket, "echo", "hi"), ["hi"], "echo ack");

  t.step("second client");
  const other = t.client();
  await t.connected(other);
  t.check(other.id !== socket.id, "two clients got the same socket.id");
  t.check(other.io.engine.id !== sid, "two clients got the same engine id");
});
