"use strict";
// The connection state recovery checks, shared by `recovery.js` (the server
// skips middleware for a recovered socket) and `recovery-middleware.js`
// (it runs it). The client loses its transport (it closes its engine, so
// the server sees "transport close") and, while it is away, the server
// sends it 100 events, half to the socket and half to its room, plus a
// volatile one and one to everyone but its room. Back within the window it
// must be recovered (`socket.recovered`), with its id, rooms and data, and
// get the 100 in order and nothing else; back after the window it is a new
// socket. Both on the default transports (upgraded) and on WebSocket only.
const t = require("./lib");

module.exports = function recovery(skipMiddlewares) {
  t.run(async () => {
    for (const [label, opts] of [["default", {}], ["websocket", { transports: ["websocket"] }]]) {
      t.step(`${label}: connect`);
      const socket = t.client("/", {
        ...opts,
        reconnection: true,
        reconnectionDelay: 300,
        reconnectionDelayMax: 300,
        randomizationFactor: 0,
      });
      const welcomes = [];
      const missed = [];
      const unexpected = [];
      socket.on("welcome", (id) => welcomes.push(id));
      socket.on("missed", (i) => missed.push(i));
      socket.on("not-for-you", (why) => unexpected.push(why));
      await t.connected(socket);
      await t.until(socket, "welcome", () => welcomes.length === 1, "welcome");
      if (label === "default") await t.transportIs(socket, "websocket");
      t.check(socket.recovered === false, "recovered on the first connect");
      const firstId = socket.id;
      const room = `room-${label}`;
      await t.emitAck(socket, "join", room);
      const [, , runsBefore] = await t.emitAck(socket, "state");
      await t.emitAck(socket, "arm", room);

      t.step(`${label}: lose the transport, come back within the window`);
      const reconnected = t.once(socket, "connect", 5000);
      socket.io.engine.close();
      await reconnected;
      t.check(socket.recovered === true, "socket.recovered after a short gap");
      t.same(socket.id, firstId, "socket id after recovery");
      await t.until(socket, "missed", () => missed.length >= 100, () => `100 missed events (got ${missed.length})`);
      t.same(missed, Array.from({ length: 100 }, (_, i) => i + 1), "missed events in order");
      const [recovered, rooms, runs, data] = await t.emitAck(socket, "state");
      t.same(recovered, true, "server-side socket.recovered");
      t.same(rooms, [firstId, room].sort(), "rooms after recovery");
      t.same(data, { room }, "socket.data after recovery");
      t.same(runs, skipMiddlewares ? runsBefore : runsBefore + 1, "middleware runs");
      t.same(welcomes.length, 2, "welcome on the recovered connection");
      t.same(unexpected, [], "volatile and excepted events");

      t.step(`${label}: a gap longer than the window`);
      socket.io.reconnectionDelay(3000);
      socket.io.reconnectionDelayMax(3000);
      const again = t.once(socket, "connect", 6000);
      socket.io.engine.close();
      await again;
      t.check(socket.recovered === false, "socket.recovered after the window");
      t.check(socket.id !== firstId, "a new socket id after the window");
      const [late, , lateRuns] = await t.emitAck(socket, "state");
      t.same(late, false, "server-side socket.recovered after the window");
      t.same(lateRuns, runs + 1, "middleware runs for a new session");
      socket.disconnect();
    }
  });
};
