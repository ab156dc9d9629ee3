"use strict";
// The well-behaved client of the hostile cases, forked by lib.js: a
// socket.io-client on WebSocket emitting `ping` with an ack every 100 ms,
// each ack due within 1 s. The parent talks over IPC: `mark` starts a new
// window (stats are kept per window, by when an emit was sent), `report`
// stops emitting, waits for what is outstanding and sends the stats.
const { io } = require("socket.io-client");

const url = process.argv[2];
const INTERVAL_MS = 100;
const DEADLINE_MS = 1000;

const socket = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
const windows = [];
const disconnects = [];
let current = null;
let outstanding = 0;
let seq = 0;
let timer = null;
let reporting = false;

function mark(name) {
  current = { name, sent: 0, acked: 0, maxMs: 0, late: [] };
  windows.push(current);
}

function tick() {
  const w = current;
  const n = ++seq;
  const sent = Date.now();
  w.sent++;
  outstanding++;
  socket.timeout(DEADLINE_MS).emit("ping", n, (err, back) => {
    outstanding--;
    const ms = Date.now() - sent;
    if (err || back !== n || ms > DEADLINE_MS) w.late.push({ n, ms });
    else w.acked++;
    w.maxMs = Math.max(w.maxMs, ms);
    maybeReport();
  });
}

function maybeReport() {
  if (!reporting || outstanding > 0) return;
  reporting = false;
  process.send({ type: "report", windows, disconnects });
}

socket.on("connect", () => {
  mark("before");
  timer = setInterval(tick, INTERVAL_MS);
  process.send({ type: "connected" });
});
socket.on("connect_error", (e) => process.send({ type: "connect_error", message: `probe connect_error: ${e.message}` }));
socket.on("disconnect", (reason) => disconnects.push(reason));

process.on("message", (m) => {
  if (m.cmd === "mark") mark(m.name);
  if (m.cmd === "report") {
    clearInterval(timer);
    reporting = true;
    maybeReport();
  }
});
// The parent is gone: so is the probe.
process.on("disconnect", () => process.exit(0));
