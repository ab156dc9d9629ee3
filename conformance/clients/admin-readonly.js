"use strict";
// The Admin UI in read-only mode: `config` names no command, and the
// commands a UI might send anyway change nothing (the client stays, in its
// rooms, through the next two server_stats).
const t = require("./lib");
const { USERNAME, PASSWORD, admin } = require("./admin-lib");

t.run(async () => {
  t.step("a client");
  const red = t.client("/", { query: { room: "red" } });
  await t.connected(red);
  let gone = null;
  red.on("disconnect", (reason) => { gone = reason; });

  t.step("log in");
  const ui = admin({ username: USERNAME, password: PASSWORD });
  await t.connected(ui);
  const [config] = await ui.waitFor("config");
  t.same(config, { supportedFeatures: ["AGGREGATED_EVENTS", "ALL_EVENTS"] }, "config");

  t.step("commands refused");
  ui.emit("_disconnect", "/", true);
  ui.emit("_disconnect", "/", false, red.id);
  ui.emit("join", "/", "vip", red.id);
  ui.emit("emit", "/", red.id, "surprise", 1);
  let surprised = false;
  red.on("surprise", () => { surprised = true; });
  const seen = ui.log.filter(([n]) => n === "server_stats").length;
  await ui.waitFor("server_stats", () => ui.log.filter(([n]) => n === "server_stats").length >= seen + 2,
    "two more server_stats", 8000);
  t.same(gone, null, "red's disconnect");
  t.check(red.connected, "red still connected");
  t.check(!surprised, "red got the emit");
  t.check(!ui.log.some(([n, a]) => n === "room_joined" && a[1] === "vip"), "a vip room joined");
  const stats = ui.log.filter(([n]) => n === "server_stats").slice(-1)[0][1][0];
  t.same(stats.namespaces.find((n) => n.name === "/").socketsCount, 1, "sockets on /");
  ui.close();
  red.close();
});
