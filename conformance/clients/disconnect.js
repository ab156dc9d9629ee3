"use strict";
// Disconnect reasons on both sides; an observer client hears the server's
// reasons (the server emits "left" with the socket id and its reason).
const t = require("./lib");

t.run(async () => {
  const observer = t.client();
  await t.connected(observer);
  const left = new Map();
  observer.on("left", (id, reason) => left.set(id, reason));
  const serverReason = async (id) => {
    await t.until(observer, "left", () => left.has(id), `server's disconnect of ${id}`);
    return left.get(id);
  };

  t.step("client disconnect");
  const a = t.client();
  await t.connected(a);
  const aId = a.id;
  const aGone = t.once(a, "disconnect");
  a.disconnect();
  t.same((await aGone)[0], "io client disconnect", "client-side reason");
  t.same(await serverReason(aId), "client namespace disconnect", "server-side reason");

  t.step("server disconnect");
  const b = t.client();
  await t.connected(b);
  const bId = b.id;
  const bGone = t.once(b, "disconnect");
  b.emit("kick-me");
  t.same((await bGone)[0], "io server disconnect", "client-side reason");
  t.same(await serverReason(bId), "server namespace disconnect", "server-side reason");
  t.check(!b.active, "client would reconnect after io server disconnect");

  t.step("client closes the engine");
  const d = t.client();
  await t.connected(d);
  const dId = d.id;
  const dGone = t.once(d, "disconnect");
  d.io.engine.close();
  const [dReason] = await dGone;
  t.note(`engine.close(): client-side reason "${dReason}"`);
  t.same(await serverReason(dId), "transport close", "server-side reason");

  // disconnect_connection (Node's disconnect(true)): every namespace of the
  // connection gets its DISCONNECT, then the connection closes (Node flushes
  // its buffer first). On each transport, and on the default one right after
  // connect, when the server is often mid-upgrade. Last, as sio fails it.
  for (const [label, opts] of [["websocket", { transports: ["websocket"] }],
    ["default", {}], ["polling", { transports: ["polling"] }]]) {
    t.step(`${label}: server disconnect with close`);
    const m = t.manager(opts);
    const c = m.socket("/");
    const o = m.socket("/other");
    await Promise.all([t.connected(c), t.connected(o)]);
    const [cId, oId] = [c.id, o.id];
    const cGone = t.once(c, "disconnect");
    const oGone = t.once(o, "disconnect");
    const transportThen = m.engine.transport.name;
    c.emit("kick-me-hard");
    t.same((await cGone)[0], "io server disconnect", `client-side reason on / (transport ${transportThen} at the emit)`);
    t.same((await oGone)[0], "io server disconnect", "client-side reason on /other");
    t.same(await serverReason(cId), "server namespace disconnect", "server-side reason on /");
    t.same(await serverReason(oId), "server namespace disconnect", "server-side reason on /other");
  }

  t.step("observer still connected");
  t.same(await t.emitAck(observer, "echo", "still here"), ["still here"], "observer echo");
});
