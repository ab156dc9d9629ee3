"use strict";
// The soak's clients (run by scripts/soak):
//   node soak/soak.js <url> <seconds> <clients> <server pid>
// Each client loops until the deadline: connect (a fifth over polling
// only, the rest polling then WebSocket), join one of 50 rooms, chat a few
// times with acks, leave, disconnect, pause. One cycle in 20 is a stalled
// reader instead: a raw WebSocket that joins a room and stops reading for
// 5-60 s (the server's heartbeat may drop it), then goes away. Every 10 s
// it prints the server's RSS and open descriptors and what the clients
// did; at the deadline it closes everything, waits 5 s and prints them
// once more.
const fs = require("fs");
const net = require("net");
const crypto = require("crypto");
const { io } = require("socket.io-client");

const [url, secsArg, clientsArg, pidArg] = process.argv.slice(2);
const SECS = Number(secsArg || 600);
const CLIENTS = Number(clientsArg || 1000);
const PID = Number(pidArg);
const ROOMS = 50;
const STALL_SHARE = 0.05;
const POLLING_SHARE = 0.2;
const REPORT_MS = 10000;
const ACK_MS = 5000;
const started = Date.now();
const deadline = started + SECS * 1000;
const target = new URL(url);

const totals = {};
let window = {};
const live = { connected: 0, stalled: 0 };
const open = new Set();

function count(what, n = 1) {
  totals[what] = (totals[what] || 0) + n;
  window[what] = (window[what] || 0) + n;
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const rand = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo));

function server() {
  try {
    const status = fs.readFileSync(`/proc/${PID}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
    const fds = fs.readdirSync(`/proc/${PID}/fd`).length;
    return `server rss ${(rss / 1024).toFixed(1)} MB fds ${fds}`;
  } catch (_) {
    return "server GONE";
  }
}

function report(label) {
  const secs = Math.round((Date.now() - started) / 1000);
  const w = Object.entries(window).map(([k, v]) => `${k} ${v}`).join(", ");
  console.log(`[${String(secs).padStart(4)}s] ${server()} | connected ${live.connected}, stalled ${live.stalled} | ${label}: ${w || "nothing"}`);
  window = {};
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("connect timeout")), 10000);
    socket.once("connect", () => { clearTimeout(timer); resolve(); });
    socket.once("connect_error", (e) => { clearTimeout(timer); reject(e); });
  });
}

async function chatCycle(transports) {
  const socket = io(url, { forceNew: true, reconnection: false, transports });
  open.add(socket);
  let leaving = false;
  try {
    await connected(socket);
    count("connects");
    live.connected++;
    socket.on("disconnect", (reason) => {
      live.connected--;
      if (!leaving) count(`dropped (${reason})`);
    });
    socket.on("chat", () => count("received"));
    const room = `room-${rand(0, ROOMS)}`;
    await socket.timeout(ACK_MS).emitWithAck("join", room);
    const chats = rand(3, 8);
    for (let i = 0; i < chats && Date.now() < deadline && socket.connected; i++) {
      await delay(rand(500, 1500));
      count("chats");
      try {
        await socket.timeout(ACK_MS).emitWithAck("chat", room, `hello ${i} `.repeat(rand(1, 50)));
        count("acks");
      } catch (_) {
        count("ack timeouts");
      }
    }
    if (socket.connected) await socket.timeout(ACK_MS).emitWithAck("leave", room);
  } catch (e) {
    count(`errors (${e.message})`);
  } finally {
    leaving = true;
    socket.disconnect();
    open.delete(socket);
  }
}

// A masked client frame (text).
function textFrame(text) {
  const data = Buffer.from(text);
  const key = crypto.randomBytes(4);
  const head = Buffer.from([0x81, 0x80 | data.length]);
  const masked = Buffer.from(data.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([head, key, masked]);
}

// A raw WebSocket that joins a room, then stops reading.
async function stallCycle() {
  const sock = net.connect({ host: target.hostname, port: Number(target.port) });
  open.add(sock);
  let seen = "";
  sock.on("error", () => {});
  sock.on("data", (d) => { seen += d.toString("latin1"); });
  const waitFor = async (text, ms) => {
    const until = Date.now() + ms;
    while (!seen.includes(text)) {
      if (Date.now() > until || sock.destroyed) throw new Error(`stall: no ${JSON.stringify(text)}`);
      await delay(20);
    }
  };
  try {
    await new Promise((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); });
    sock.write(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${target.host}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\n` +
      "Sec-WebSocket-Version: 13\r\n\r\n");
    await waitFor('"sid"', 10000);
    sock.write(textFrame("40"));
    await waitFor("40{", 10000);
    sock.write(textFrame(`420["join","room-${rand(0, ROOMS)}"]`));
    await waitFor("430[", 10000);
    count("stalls");
    live.stalled++;
    sock.pause();
    await delay(Math.min(rand(5000, 60000), Math.max(0, deadline - Date.now())));
    live.stalled--;
  } catch (e) {
    count(`errors (${e.message})`);
  } finally {
    sock.destroy();
    open.delete(sock);
  }
}

async function client(i) {
  // Ramp up over 10 s.
  await delay((i * 10000) / CLIENTS);
  while (Date.now() < deadline) {
    const r = Math.random();
    if (r < STALL_SHARE) await stallCycle();
    else await chatCycle(r < STALL_SHARE + POLLING_SHARE ? ["polling"] : ["polling", "websocket"]);
    count("cycles");
    await delay(rand(0, 2000));
  }
}

async function main() {
  console.log(`soak: ${CLIENTS} clients for ${SECS} s against ${url} (server pid ${PID})`);
  console.log(`[   0s] ${server()} (baseline)`);
  const ticker = setInterval(() => report("last 10 s"), REPORT_MS);
  // The clients finish the cycle under way at the deadline; this bounds them.
  const all = Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
  await Promise.race([all, delay(SECS * 1000 + 15000)]);
  clearInterval(ticker);
  for (const s of open) (s.destroy || s.disconnect).call(s);
  report("last cycles");
  await delay(5000);
  console.log(`[done ] ${server()} 5 s after every client left`);
  console.log(`totals: ${Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  process.exit(0);
}

main();
