"use strict";
// What the Admin UI scenarios share: the credentials the scenario server
// (src/admin.rs) checks, and an admin client that records every message
// the server sends it, so a script can wait for one it may already have.
const { EventEmitter } = require("node:events");
const t = require("./lib");

const USERNAME = "admin";
const PASSWORD = "sio-admin-test";
const SERVER_ID = "sio-conformance";

// The server's messages to the admin namespace (the reference's names).
const ADMIN_EVENTS = [
  "session", "config", "server_stats", "all_sockets", "socket_connected", "socket_updated",
  "socket_disconnected", "room_joined", "room_left", "event_received", "event_sent",
];

// An admin client; `.log` holds [name, args] of every message so far and
// `.waitFor(name, test, what)` resolves with the first matching one's args.
function admin(auth) {
  const socket = t.client("/admin", { auth });
  const logged = new EventEmitter();
  socket.log = [];
  for (const name of ADMIN_EVENTS) {
    socket.on(name, (...args) => {
      socket.log.push([name, args]);
      logged.emit("message");
    });
  }
  socket.waitFor = async (name, test = () => true, what = name, ms = t.WAIT_MS) => {
    let found = null;
    const match = () => {
      found = socket.log.find(([n, args]) => n === name && test(...args));
      return !!found;
    };
    await t.until(logged, "message", match, () => `${what} (messages so far: ${socket.log.map(([n]) => n).join(", ")})`, ms);
    return found[1];
  };
  return socket;
}

module.exports = { USERNAME, PASSWORD, SERVER_ID, admin };
