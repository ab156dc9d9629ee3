"use strict";
// pingInterval 300 ms / pingTimeout 200 ms: a client that stops answering
// pings (its outgoing pongs are dropped) is disconnected by the server with
// "ping timeout", on WebSocket and on polling; an observer hears the reason.
const t = require("./lib");

t.run(async () => {
  const observer = t.client("/", { transports: ["websocket"] });
  await t.connected(observer);
  const left = new Map();
  observer.on("left", (id, reason) => left.set(id, reason));

  for (const transport of ["websocket", "polling"]) {
    t.step(`${transport}: silence the client's pongs`);
    const victim = t.client("/", { transports: [transport] });
    await t.connected(victim);
    const id = victim.id;
    const engine = victim.io.engine;
    t.check(typeof engine._sendPacket === "function", "engine.io-client internals changed: no _sendPacket to patch");
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
    const gone = t.once(victim, "disconnect", 10000);
    gone.catch(() => {}); // awaited below, after the server's verdict

    t.step(`${transport}: server drops the silent client`);
    await t.until(observer, "left", () => left.has(id), `server's disconnect of ${id}`);
    t.same(left.get(id), "ping timeout", "server-side reason");
    const [reason] = await gone;
    t.note(`${transport}: the silenced client saw "${reason}"`);
  }
  t.check(observer.connected, "the observer (answering pings) got disconnected");
});
