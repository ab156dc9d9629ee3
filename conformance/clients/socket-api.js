"use strict";
// The server socket's handler API as Node has it: socket.use (an error
// reaches the socket's "error" handler and the packet is dropped; next()
// lets it through), once, and onAnyOutgoing; over WebSocket and polling.
const t = require("./lib");

async function check(label, opts) {
  t.step(`${label}: connect`);
  const socket = t.client("/", opts);
  await t.connected(socket);
  const reached = [];
  socket.on("reached", (what) => reached.push(what));
  const firsts = [];
  socket.on("first-seen", (n) => firsts.push(n));

  t.step(`${label}: socket.use next(err) reaches the error handler`);
  const seen = t.once(socket, "error-seen");
  socket.emit("forbidden");
  t.same(await seen, ["forbidden by middleware"], "error event");

  t.step(`${label}: socket.use next() lets a packet through`);
  t.same(await t.emitAck(socket, "allowed", "x"), ["allowed x"], "ack after the middleware");

  t.step(`${label}: once`);
  socket.emit("first", 1);
  socket.emit("first", 2);
  // Events are handled in order: by this ack, both "first" were.
  await t.emitAck(socket, "allowed", "sync");
  t.same(firsts, [1], "once handler ran for the first event only");
  t.same(reached, [], "the refused packet reached no handler");

  t.step(`${label}: onAnyOutgoing`);
  t.same(await t.emitAck(socket, "sent?"), [[
    '["error-seen","forbidden by middleware"]',
    '["first-seen",1]',
  ]], "what the server sent");
  socket.close();
}

t.run(async () => {
  await check("websocket", { transports: ["websocket"] });
  await check("polling", { transports: ["polling"] });
});
