"use strict";
// maxHttpBufferSize is 100000: a packet of exactly that many bytes passes
// (echoed back whole), one byte more gets the client disconnected. Checked
// on polling and on WebSocket; the disconnect reason is noted.
const t = require("./lib");

const LIMIT = 100000;
// The reference server: a 413 for the POST, which the client reports as a
// transport error; WebSocket close 1009, which it reports as transport close.
const EXPECTED_REASON = { polling: "transport error", websocket: "transport close" };

async function boundary(transport) {
  t.step(`${transport}: connect`);
  const socket = t.client("/", { transports: [transport] });
  await t.connected(socket);

  t.step(`${transport}: packet of exactly ${LIMIT} bytes`);
  // The first ack id of a socket is 0: the packet is 420["echo","<text>"].
  const fits = "a".repeat(LIMIT - '420["echo",""]'.length);
  const [back] = await t.emitAck(socket, "echo", fits);
  t.check(back === fits, `echo came back with ${back && back.length} chars, expected ${fits.length}`);
  t.check(socket.connected, "disconnected after a packet at the limit");

  t.step(`${transport}: packet of ${LIMIT + 1} bytes`);
  const gone = t.once(socket, "disconnect");
  socket.emit("echo", "a".repeat(LIMIT + 1 - '42["echo",""]'.length));
  const [reason] = await gone;
  t.note(`${transport}: a packet over maxHttpBufferSize disconnects the client with "${reason}"`);
  t.same(reason, EXPECTED_REASON[transport], "client disconnect reason");
}

t.run(async () => {
  await boundary("polling");
  await boundary("websocket");
});
