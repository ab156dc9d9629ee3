"use strict";
// Binary both ways on polling (base64) and WebSocket (binary frames):
// Buffers alone, several, nested in objects and arrays, typed arrays and
// ArrayBuffers; raw echo (ack), raw re-emit (event), typed Bytes handlers,
// server-made typed Bytes; a placeholder look-alike without binary.
const t = require("./lib");

const SENT = [
  Buffer.from([1, 2, 3]),
  "text",
  Buffer.alloc(0),
  { a: Buffer.from("nested"), list: [Buffer.from([255]), 1, { deep: Buffer.from([0, 0]) }] },
  [Buffer.from("in array"), [Buffer.alloc(3000, 0xab)]],
  Uint8Array.from([9, 8, 7]),
  new ArrayBuffer(4),
];

const SERVER_BIN = [
  Buffer.from([0, 1, 2, 255]),
  { label: "doc", blob: Buffer.from("blob"), parts: [Buffer.alloc(0), Buffer.alloc(1000, 7)], deep: [[Buffer.from("x")]] },
  "after",
];

async function over(transport) {
  t.step(`${transport}: server-made typed Bytes`);
  const socket = t.client("/", { transports: [transport] });
  const serverBin = t.once(socket, "server-bin");
  await t.connected(socket);
  t.same(await serverBin, SERVER_BIN, "server-bin");

  t.step(`${transport}: echo buffers as ack arguments`);
  t.same(await t.emitAck(socket, "echo", ...SENT), SENT, "echo ack");

  t.step(`${transport}: reflect buffers as an event`);
  const reflected = t.once(socket, "reflect");
  socket.emit("reflect", ...SENT);
  t.same(await reflected, SENT, "reflected event");

  t.step(`${transport}: typed Bytes handler`);
  t.same(await t.emitAck(socket, "typed-bin", "name", Buffer.from([1, 2, 3]), [Buffer.from("ab"), Buffer.alloc(5)]),
    ["name", Buffer.from([3, 2, 1]), [2, 5]], "typed-bin ack");

  t.step(`${transport}: placeholder look-alike without binary`);
  const fake = { _placeholder: true, num: 0 };
  t.same(await t.emitAck(socket, "echo", fake, "x"), [fake, "x"], "echo of a plain object shaped like a placeholder");
  socket.close();
}

t.run(async () => {
  await over("polling");
  await over("websocket");
});
