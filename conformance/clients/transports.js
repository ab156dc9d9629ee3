"use strict";
// transports: ["polling"] stays on polling, ["websocket"] opens on
// WebSocket, and the default opens on polling and upgrades to WebSocket.
const t = require("./lib");

async function roundTrip(socket, label) {
  const text = `${label} ${"x".repeat(2000)} 🎉`;
  t.same(await t.emitAck(socket, "echo", text, Buffer.from(label)), [text, Buffer.from(label)], `${label} echo`);
}

t.run(async () => {
  t.step("polling only");
  const polling = t.client("/", { transports: ["polling"] });
  let pollingUpgraded = false;
  polling.io.engine.on("upgrade", () => { pollingUpgraded = true; });
  const pollingOpened = t.once(polling, "opened-with");
  await t.connected(polling);
  t.same(await pollingOpened, ["polling"], "server's handshake transport");
  await roundTrip(polling, "polling");
  t.same(polling.io.engine.transport.name, "polling", "transport after a round trip");
  t.check(!pollingUpgraded, "polling-only client upgraded");

  t.step("websocket only");
  const ws = t.client("/", { transports: ["websocket"] });
  const wsOpened = t.once(ws, "opened-with");
  await t.connected(ws);
  t.same(ws.io.engine.transport.name, "websocket", "transport right after connect");
  t.same(await wsOpened, ["websocket"], "server's handshake transport");
  await roundTrip(ws, "websocket");

  t.step("default: polling, then upgrade");
  const up = t.client();
  const upOpened = t.once(up, "opened-with");
  await t.connected(up);
  t.same(await upOpened, ["polling"], "server's handshake transport");
  await t.transportIs(up, "websocket");
  t.same(up.io.engine.transport.name, "websocket", "transport after the upgrade");
  await roundTrip(up, "upgraded");
  t.check(up.connected, "disconnected after the upgrade");
});
