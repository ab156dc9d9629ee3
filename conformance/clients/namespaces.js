"use strict";
// "/admin" on its own, and "/" + "/admin" multiplexed over one Manager
// (one Engine.IO session); leaving one namespace keeps the other.
const t = require("./lib");

t.run(async () => {
  t.step("/admin alone");
  const solo = t.client("/admin");
  const soloWhere = t.once(solo, "where");
  await t.connected(solo);
  t.same(await soloWhere, ["/admin", solo.id], "where on /admin");

  t.step("multiplexed / and /admin");
  const manager = t.manager();
  const root = manager.socket("/");
  const admin = manager.socket("/admin");
  const rootWhere = t.once(root, "where");
  const adminWhere = t.once(admin, "where");
  await Promise.all([t.connected(root), t.connected(admin)]);
  t.check(root.io.engine === admin.io.engine, "the two namespaces do not share one engine");
  t.check(root.id !== admin.id, "the two namespaces got the same socket.id");
  t.same(await rootWhere, ["/", root.id], "where on /");
  t.same(await adminWhere, ["/admin", admin.id], "where on /admin");
  t.same(await t.emitAck(admin, "whoami"), ["/admin", admin.id], "whoami on /admin");
  t.same(await t.emitAck(root, "whoami"), ["/", root.id], "whoami on /");

  t.step("leave /admin, keep /");
  const adminGone = t.once(admin, "disconnect");
  admin.disconnect();
  t.same((await adminGone)[0], "io client disconnect", "/admin disconnect reason");
  t.same(await t.emitAck(root, "whoami"), ["/", root.id], "whoami on / after leaving /admin");
  t.check(manager.engine.readyState === "open", `engine is ${manager.engine.readyState} after leaving one namespace`);

  t.step("rejoin /admin on the same engine");
  const again = t.once(admin, "where");
  admin.connect();
  await t.connected(admin);
  t.same(await again, ["/admin", admin.id], "where on /admin after rejoining");
});
