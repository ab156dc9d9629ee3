"use strict";
// The Admin UI's protocol as the official UI speaks it (npm
// @socket.io/admin-ui's server is the reference), with socket.io-client:
// wrong credentials refused, a login and its session id, `config`,
// `all_sockets`, `server_stats`, live socket and room events, events in
// and out, the join and _disconnect commands (the client sees
// "io server disconnect"), and a second login with the session id alone.
const t = require("./lib");
const { USERNAME, PASSWORD, SERVER_ID, admin } = require("./admin-lib");

const ALL_FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT",
  "AGGREGATED_EVENTS", "ALL_EVENTS"];

t.run(async () => {
  t.step("wrong password refused");
  for (const auth of [{ username: USERNAME, password: "nope" }, { username: "root", password: PASSWORD }, {}]) {
    const intruder = t.client("/admin", { auth });
    const err = await t.connectError(intruder);
    t.same(err.message, "invalid credentials", `connect_error for ${JSON.stringify(auth)}`);
    intruder.close();
  }

  t.step("two clients in rooms");
  const red = t.client("/", { query: { room: "red" } });
  const blue = t.client("/", { query: { room: "blue" }, transports: ["websocket"] });
  await Promise.all([t.connected(red), t.connected(blue), t.transportIs(red, "websocket")]);

  t.step("log in");
  const ui = admin({ username: USERNAME, password: PASSWORD });
  await t.connected(ui);
  const [session] = await ui.waitFor("session");
  t.check(/^[0-9a-f]{16}$/.test(session), `session id ${session}`);
  const [config] = await ui.waitFor("config");
  t.same(config, { supportedFeatures: ALL_FEATURES }, "config");

  t.step("all_sockets");
  const [sockets] = await ui.waitFor("all_sockets");
  for (const [client, room, transport] of [[red, "red", "websocket"], [blue, "blue", "websocket"]]) {
    const s = sockets.find((x) => x.id === client.id);
    t.check(s, `${room}'s socket ${client.id} in all_sockets: ${JSON.stringify(sockets.map((x) => x.id))}`);
    t.same(s.nsp, "/", `${room}'s nsp`);
    t.same([...s.rooms].sort(), [client.id, room].sort(), `${room}'s rooms`);
    t.same(s.transport, transport, `${room}'s transport`);
    t.same(s.clientId, client.io.engine.id.slice(0, 12), `${room}'s clientId`);
    t.same(Object.keys(s.handshake).sort(),
      ["address", "headers", "issued", "query", "secure", "time", "url", "xdomain"], `${room}'s handshake keys`);
    t.same(s.handshake.query.room, room, `${room}'s handshake query`);
    t.same(s.data, {}, `${room}'s data`);
  }

  t.step("server_stats");
  const [stats] = await ui.waitFor("server_stats",
    (s) => s.namespaces.some((n) => n.name === "/" && n.socketsCount === 2), "server_stats with 2 sockets on /");
  t.same(stats.serverId, SERVER_ID, "serverId");
  t.check(typeof stats.hostname === "string" && stats.hostname.length > 0, `hostname ${stats.hostname}`);
  t.check(Number.isInteger(stats.pid), `pid ${stats.pid}`);
  t.check(typeof stats.uptime === "number", `uptime ${stats.uptime}`);
  t.check(stats.clientsCount >= 3, `clientsCount ${stats.clientsCount}`);
  t.check(Number.isInteger(stats.pollingClientsCount), `pollingClientsCount ${stats.pollingClientsCount}`);
  t.check(Array.isArray(stats.aggregatedEvents), "aggregatedEvents");
  const names = stats.namespaces.map((n) => n.name).sort();
  t.same(names, ["/", "/admin", "/chat"], "namespaces");
  t.same(stats.namespaces.find((n) => n.name === "/admin").socketsCount, 1, "/admin's count");
  const [later] = await ui.waitFor("server_stats",
    (s) => s.aggregatedEvents.some((e) => e.type === "packetsIn" && e.count > 0), "server_stats counting packetsIn");
  const event = later.aggregatedEvents.find((e) => e.type === "packetsIn");
  t.check(Number.isInteger(event.timestamp) && event.timestamp % 1000 === 0, `timestamp ${event.timestamp}`);

  t.step("a third client comes: socket_connected and its upgrade");
  const green = t.client("/", { query: { room: "green" } });
  await t.connected(green);
  const [connected, when] = await ui.waitFor("socket_connected", (s) => s.id === green.id, "socket_connected of green");
  t.same(connected.nsp, "/", "socket_connected nsp");
  t.check(!Number.isNaN(Date.parse(when)), `socket_connected date ${when}`);
  await ui.waitFor("room_joined", (nsp, room, id) => nsp === "/" && room === "green" && id === green.id,
    "room_joined green");
  // Connected on polling, the upgrade follows; on WebSocket already, none.
  if (connected.transport === "polling") {
    await ui.waitFor("socket_updated", (u) => u.id === green.id && u.transport === "websocket",
      "socket_updated to websocket");
  } else {
    t.same(connected.transport, "websocket", "green's transport");
  }

  t.step("events in and out");
  blue.emit("hello", { n: 1 });
  const [nsp, id, args] = await ui.waitFor("event_received", (n, i) => i === blue.id, "event_received");
  t.same([nsp, id, args], ["/", blue.id, ["hello", { n: 1 }]], "event_received");

  t.step("join command");
  ui.emit("join", "/", "vip", red.id);
  await ui.waitFor("room_joined", (n, room, i) => room === "vip" && i === red.id, "room_joined vip");
  ui.emit("leave", "/", "vip", red.id);
  await ui.waitFor("room_left", (n, room, i) => room === "vip" && i === red.id, "room_left vip");

  t.step("_disconnect command");
  const redId = red.id; // socket.io-client forgets it on disconnect
  const reason = t.once(red, "disconnect");
  ui.emit("_disconnect", "/", false, redId);
  t.same((await reason)[0], "io server disconnect", "red's disconnect reason");
  const [dnsp, did, dreason] = await ui.waitFor("socket_disconnected", (n, i) => i === redId,
    "socket_disconnected");
  t.same([dnsp, did, dreason], ["/", redId, "server namespace disconnect"], "socket_disconnected");
  await ui.waitFor("room_left", (n, room, i) => room === "red" && i === redId, "room_left red at disconnect");
  t.check(blue.connected && green.connected, "the others stay");

  t.step("a second login with the session id");
  const again = admin({ sessionId: session });
  await t.connected(again);
  await again.waitFor("config");
  const forged = t.client("/admin", { auth: { sessionId: "0000000000000000" } });
  t.same((await t.connectError(forged)).message, "invalid credentials", "a forged session id");

  for (const s of [ui, again, forged, blue, green]) s.close();
});
