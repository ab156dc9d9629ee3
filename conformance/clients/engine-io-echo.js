"use strict";
// Engine.IO alone: the npm engine.io-client (v6, protocol 4) against an
// sio Engine.IO echo server (`sio_driver::engine_io`, path /engine.io/).
// argv[3] is the transport mode: polling, websocket, or upgrade (polling
// first, then the upgrade to WebSocket). Text (ASCII, multi-byte, empty,
// 64 kB) and binary messages come back exactly and in order, on each
// transport the session uses; the client's close is clean.
const t = require("./lib");
const { Socket } = require("engine.io-client");

const url = process.argv[2];
const mode = process.argv[3] || "upgrade";
const TRANSPORTS = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};

function canon(data) {
  // engine.io-parser decodes an empty message ("4", as the reference
  // server sends it too) with no data at all.
  if (data === undefined) data = "";
  if (typeof data === "string") return `text(${JSON.stringify(data.length > 80 ? data.slice(0, 40) + "…" + data.length : data)})`;
  return `bin(${Buffer.from(data).toString("hex")})`;
}

function withTimeout(promise, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within 5 s`)), 5000)),
  ]);
}

t.run(async () => {
  t.check(TRANSPORTS[mode], `unknown mode ${mode}`);
  t.step(`open (${mode})`);
  const socket = new Socket(url, { path: "/engine.io/", ...TRANSPORTS[mode] });
  const inbox = [];
  let waiter = null;
  socket.on("message", (data) => {
    inbox.push(data);
    if (waiter) waiter();
  });
  const upgraded = new Promise((resolve) => socket.on("upgrade", resolve));
  await withTimeout(new Promise((resolve, reject) => {
    socket.on("open", resolve);
    socket.on("error", reject);
  }), "open");
  t.check(typeof socket.id === "string" && socket.id.length === 20, `sid ${JSON.stringify(socket.id)}, expected 20 chars`);

  async function echo(messages, label) {
    inbox.length = 0;
    for (const m of messages) socket.send(m);
    await withTimeout(new Promise((resolve) => {
      waiter = () => inbox.length >= messages.length && resolve();
      waiter();
    }), label);
    waiter = null;
    const sent = messages.map(canon);
    const got = inbox.map(canon);
    t.check(JSON.stringify(sent) === JSON.stringify(got), `${label}: sent ${sent.join(", ")}; got back ${got.join(", ")}`);
  }

  const texts = ["hello", "", "héllo wörld ✓ 🚀", "x".repeat(64 * 1024)];
  const binaries = [Buffer.from([0, 1, 2, 254, 255]), Buffer.alloc(0), Buffer.alloc(4096, 7)];
  t.step(`text echo on ${socket.transport.name}`);
  await echo(texts, "text");
  t.step(`binary echo on ${socket.transport.name}`);
  await echo(binaries, "binary");
  t.step(`mixed burst on ${socket.transport.name}`);
  const burst = [];
  for (let i = 0; i < 50; i++) burst.push(i % 2 ? `m${i}` : Buffer.from([i]));
  await echo(burst, "burst in order");

  const expected = mode === "polling" ? "polling" : "websocket";
  if (mode === "upgrade") {
    t.step("upgrade to websocket");
    await withTimeout(upgraded, "upgrade");
    await echo(["after upgrade", Buffer.from([9, 8, 7])], "echo after upgrade");
  }
  t.check(socket.transport.name === expected, `transport ${socket.transport.name}, expected ${expected}`);

  t.step("close");
  const closed = new Promise((resolve) => socket.on("close", (reason) => resolve(reason)));
  socket.close();
  const reason = await withTimeout(closed, "close");
  t.check(reason === "forced close", `close reason ${JSON.stringify(reason)}, expected "forced close"`);
});
