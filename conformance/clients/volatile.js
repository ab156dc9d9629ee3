"use strict";
// A volatile emit (socket.volatile() and io.volatile()) reaches an idle
// client: WebSocket only, polling only, and polling upgraded to WebSocket.
const t = require("./lib");

// Polling has no event telling that the server holds our next GET (volatile
// packets are dropped without one, as in the reference server): give an idle
// polling connection this long to settle.
const POLLING_SETTLE_MS = 500;

async function idle(label, opts) {
  t.step(`${label}: connect`);
  const socket = t.client("/", opts);
  await t.connected(socket);
  if (label === "upgraded") await t.transportIs(socket, "websocket");
  if (label === "polling") await t.delay(POLLING_SETTLE_MS);

  t.step(`${label}: socket.volatile().emit`);
  const v1 = t.once(socket, "v");
  socket.emit("volatile-please", label);
  t.same(await v1, [label, "socket"], "volatile event");

  if (label === "polling") await t.delay(POLLING_SETTLE_MS);
  t.step(`${label}: io.volatile().emit`);
  const v2 = t.once(socket, "v");
  socket.emit("volatile-all", label);
  t.same(await v2, [label, "io"], "volatile broadcast");
  socket.close();
}

t.run(async () => {
  await idle("websocket", { transports: ["websocket"] });
  await idle("upgraded", {});
  await idle("polling", { transports: ["polling"] });
});
