"use strict";
// pingInterval 300 ms / pingTimeout 200 ms: an idle client on each
// transport stays connected across more than 3 ping intervals (at least 4
// pings and 1.5 s), then a round trip still works.
const t = require("./lib");

async function idle(label, opts) {
  const socket = t.client("/", opts);
  let dropped = null;
  socket.on("disconnect", (reason) => { dropped = reason; });
  await t.connected(socket);
  let pings = 0;
  const started = Date.now();
  const engine = socket.io.engine;
  engine.on("ping", () => { pings += 1; });
  await t.until(engine, "ping", () => pings >= 4 && Date.now() - started >= 1500,
    () => `${label}: 4 pings and 1.5 s (pings so far: ${pings})`, 8000);
  t.check(dropped === null, `${label}: disconnected while idle ("${dropped}")`);
  t.same(await t.emitAck(socket, "echo", label), [label], `${label}: echo after idling`);
  t.note(`${label}: ${pings} pings in ${Date.now() - started} ms`);
  socket.close();
}

t.run(async () => {
  t.step("idle on polling, websocket and upgraded at once");
  await Promise.all([
    idle("polling", { transports: ["polling"] }),
    idle("websocket", { transports: ["websocket"] }),
    idle("upgraded", {}),
  ]);
});
