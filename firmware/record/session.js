"use strict";
// One session of the npm socket.io-client against the recording server
// (firmware/replay/src/bin/record-server.rs, the demo application of
// firmware/replay/src/app.rs). `node session.js URL polling-upgrade` starts
// on long-polling and upgrades; `node session.js URL websocket` uses
// WebSocket only. Checks every answer, so a transcript is only kept when
// the session did what it should. Exits 0 on success.
const { io } = require("socket.io-client");
const assert = require("node:assert/strict");

const [url, mode] = process.argv.slice(2);
const transports = mode === "websocket" ? ["websocket"] : ["polling", "websocket"];

const once = (emitter, name) => new Promise((resolve) => emitter.once(name, (...args) => resolve(args)));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const refused = io(url, { transports, auth: { token: "wrong" }, reconnection: false, forceNew: true });
  const [err] = await once(refused, "connect_error");
  assert.equal(err.message, "bad token");
  refused.close();

  const socket = io(url, { transports, auth: { token: "s3cret" }, reconnection: false, forceNew: true });
  const [welcomeId] = await once(socket, "welcome");
  assert.equal(welcomeId, socket.id);

  // JSON both ways, with an ack.
  const json = await socket.emitWithAck("echo", { text: "héllo ☃", n: [1, 2.5, null, true] });
  assert.deepEqual(json, { text: "héllo ☃", n: [1, 2.5, null, true] });

  if (mode !== "websocket" && socket.io.engine.transport.name !== "websocket") {
    await once(socket.io.engine, "upgrade");
  }
  assert.equal(socket.io.engine.transport.name, "websocket");

  // Binary both ways, with an ack (two attachments).
  const reply = await new Promise((resolve) =>
    socket.emit("echo", Buffer.from([0, 1, 2, 255]), { label: "blob", data: Buffer.from("abc") }, (...a) => resolve(a)),
  );
  assert.deepEqual(reply[0], Buffer.from([0, 1, 2, 255]));
  assert.deepEqual(reply[1], { label: "blob", data: Buffer.from("abc") });

  // Rooms.
  const joined = await new Promise((resolve) => socket.emit("join", "lobby", (...a) => resolve(a)));
  assert.deepEqual(joined, ["joined", "lobby"]);
  const roomMsg = once(socket, "room-msg");
  socket.emit("to-room", "lobby", "hi all");
  assert.deepEqual(await roomMsg, ["lobby", "hi all"]);

  // The server's emit with an ack, answered by the client.
  socket.on("question", (a, b, ack) => ack(a + b, "sum"));
  const answer = once(socket, "answer");
  socket.emit("ask");
  assert.deepEqual(await answer, [3, "sum"]);

  // Heartbeat: pingInterval is 300 ms; the client answers each ping. Two
  // pings, waited for up to 3 s (an emulated board on a busy host is slow).
  let pings = 0;
  const twoPings = new Promise((resolve) =>
    socket.io.engine.on("ping", () => {
      if (++pings === 2) resolve();
    }),
  );
  await Promise.race([twoPings, sleep(3000)]);
  assert.ok(pings >= 2, `${pings} pings in 3 s`);

  // Disconnect: the server's (bye) over polling-then-WebSocket, the client's over WebSocket.
  if (mode === "websocket") {
    socket.disconnect();
  } else {
    const gone = once(socket, "disconnect");
    socket.emit("bye");
    assert.deepEqual(await gone, ["io server disconnect", undefined]);
  }
  await sleep(100);
}

const hard = setTimeout(() => {
  console.error("session: timed out");
  process.exit(1);
}, 10000);
main().then(
  () => {
    clearTimeout(hard);
    console.log(`session ${mode}: ok`);
    process.exit(0);
  },
  (e) => {
    console.error(`session ${mode}: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
