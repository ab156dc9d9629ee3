"use strict";
// The server restarted under a connected client: the runner kills it and
// starts a new one on the same port. The client must see "disconnect" with
// "transport close", reconnect by itself (socket.io-client's reconnection,
// short delays), get a new session from the new server (its process id is in
// `hello`), and have its next events handled: acknowledged round trips.
// On the default transports (upgraded to WebSocket before the restart, and
// again after) and on WebSocket only.
const t = require("./lib");

const RECONNECT_MS = 10000;

t.run(async () => {
  for (const [label, opts] of [["default", {}], ["websocket", { transports: ["websocket"] }]]) {
    t.step(`${label}: connect`);
    const socket = t.client("/", {
      ...opts,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
    });
    const hellos = [];
    socket.on("hello", (pid) => hellos.push(pid));
    await t.connected(socket);
    await t.until(socket, "hello", () => hellos.length === 1, "hello from the first server");
    if (label === "default") await t.transportIs(socket, "websocket");
    const firstId = socket.id;
    t.same(await t.emitAck(socket, "whoami"), [firstId, hellos[0]],
      "whoami before the restart");

    t.step(`${label}: restart`);
    const reasons = [];
    socket.on("disconnect", (reason) => reasons.push(reason));
    let reconnects = 0;
    socket.io.on("reconnect", () => { reconnects += 1; });
    const reconnected = t.once(socket, "connect", RECONNECT_MS);
    await t.restartServer();

    t.step(`${label}: reconnect on its own`);
    await reconnected;
    t.same(reasons, ["transport close"], "disconnect reasons");
    t.same(reconnects, 1, "manager reconnect events");
    t.check(socket.id !== firstId, `same socket id ${firstId} after the restart`);
    await t.until(socket, "hello", () => hellos.length === 2, "hello from the new server");
    t.check(hellos[1] !== hellos[0], `hello from process ${hellos[1]} again: not restarted`);

    t.step(`${label}: events after the reconnect`);
    t.same(await t.emitAck(socket, "whoami"), [socket.id, hellos[1]],
      "whoami after the restart");
    t.same(await socket.timeout(t.WAIT_MS).emitWithAck("echo", "after"), "after", "emitWithAck after the restart");
    t.same(await t.emitAck(socket, "echo", "after", { n: 1 }), ["after", { n: 1 }], "echo after the restart");
    if (label === "default") await t.transportIs(socket, "websocket");
    t.same(reasons, ["transport close"], "disconnect reasons at the end");
    socket.disconnect();
  }
});
