"use strict";
// The MessagePack parser (npm socket.io-msgpack-parser) against a server
// configured with it, over polling, WebSocket and the upgrade: every
// Engine.IO message must be binary; events with every value type, typed
// arguments on the server (integer, float, buffer, map), acks both ways
// with buffers, a room broadcast, /admin beside / on one manager, and a
// refused namespace.
const parser = require("socket.io-msgpack-parser");
const t = require("./lib");

const MODES = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
};

const SENT = [
  7,
  -300000,
  2.5,
  "héllo ☃",
  null,
  true,
  [1, [2, [3]]],
  { k: "v", n: { deep: [false, 0.125] } },
  Buffer.from([0, 1, 255]),
  { nested: Buffer.from("hi"), list: [Buffer.alloc(0), Buffer.alloc(2000, 0xab)] },
];

// Counts the Engine.IO messages of `socket` that are not binary, both ways.
function watchWire(socket) {
  const seen = { binary: 0, text: [] };
  const look = (packet) => {
    if (packet.type !== "message") return;
    if (typeof packet.data === "string") seen.text.push(packet.data);
    else seen.binary += 1;
  };
  const attach = (engine) => {
    engine.on("packet", look);
    engine.on("packetCreate", look);
  };
  socket.io.on("open", () => attach(socket.io.engine));
  if (socket.io.engine) attach(socket.io.engine);
  return seen;
}

async function over(mode) {
  const opts = { parser, transports: MODES[mode] };

  t.step(`${mode}: connect`);
  const a = t.client("/", opts);
  const wire = watchWire(a);
  await t.connected(a);
  if (mode === "upgrade") await t.transportIs(a, "websocket");
  t.check(a.io.engine.transport.name === MODES[mode].at(-1), `transport ${a.io.engine.transport.name}`);

  t.step(`${mode}: echo of every value type, buffers inline`);
  t.same(await t.emitAck(a, "echo", ...SENT), SENT, "echo ack");

  t.step(`${mode}: typed arguments on the server`);
  const typed = { int: 7, float: 1.25, bin: Buffer.from([1, 2, 3]), map: { x: 1, y: -2 } };
  t.same(await t.emitAck(a, "typed", typed),
    [{ int: 8, float: 2.5, bin: Buffer.from([3, 2, 1]), map: { x: 2, y: -1 } }], "typed ack");

  t.step(`${mode}: the server's ack request, answered with a buffer`);
  a.on("question", (n, data, ack) => ack(n * 2, Buffer.concat([data, Buffer.from([9])])));
  const answer = t.once(a, "answer");
  a.emit("ask", 21);
  t.same(await answer, [42, Buffer.from("q\x09")], "answer");

  t.step(`${mode}: room broadcast`);
  const b = t.client("/", opts);
  await t.connected(b);
  t.same(await t.emitAck(b, "join", "r1"), [true], "join");
  let outsiderGot = 0;
  a.on("room-msg", () => { outsiderGot += 1; });
  const got = t.once(b, "room-msg");
  a.emit("shout", "r1", "hi room", Buffer.from([5, 6]));
  t.same(await got, ["hi room", Buffer.from([5, 6])], "room-msg");
  // The broadcast went out before this reply on a's connection.
  await t.emitAck(a, "echo", 1);
  t.check(outsiderGot === 0, "a socket outside the room got the broadcast");
  b.close();

  t.step(`${mode}: / and /admin on one manager`);
  const manager = t.manager(opts);
  const main = manager.socket("/");
  const admin = manager.socket("/admin");
  const where = t.once(admin, "where");
  await t.connected(main);
  await t.connected(admin);
  t.same(await where, ["/admin", admin.id], "where");
  t.same(await t.emitAck(main, "echo", "multiplexed"), ["multiplexed"], "echo on / beside /admin");
  main.close();
  admin.close();

  t.step(`${mode}: a namespace that does not exist`);
  const lost = t.client("/nope", opts);
  const err = await t.connectError(lost);
  t.check(err.message === "Invalid namespace", `connect_error ${err.message}`);
  lost.close();

  t.step(`${mode}: every message was binary`);
  t.check(wire.text.length === 0, `text messages on the wire: ${wire.text.slice(0, 3).join(" | ")}`);
  t.check(wire.binary >= 6, `only ${wire.binary} binary messages seen`);
  a.close();
}

t.run(async () => {
  for (const mode of Object.keys(MODES)) await over(mode);
});
