"use strict";
// The chat example's /metrics (Prometheus text format) read before and
// after what this script's clients do, and checked against it: sockets by
// namespace, connections by transport, packets in and out, disconnects by
// reason. Also logs in to the chat's Admin UI namespace with the password
// the runner set (ADMIN_PASSWORD), and is refused with a wrong one.
const t = require("./lib");

const PASSWORD = process.env.ADMIN_PASSWORD;

// `name{labels} value` lines as a map; comments skipped.
async function scrape() {
  const response = await fetch(`${t.url}/metrics`);
  t.same(response.status, 200, "GET /metrics: status");
  t.check((response.headers.get("content-type") || "").startsWith("text/plain"),
    `content-type ${response.headers.get("content-type")}`);
  const metrics = new Map();
  for (const line of (await response.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    const value = Number(line.slice(at + 1));
    t.check(!Number.isNaN(value), `a metric line that does not parse: ${line}`);
    metrics.set(line.slice(0, at), value);
  }
  return metrics;
}

const read = (metrics, key) => metrics.get(key) || 0;

// Scrapes until `test(metrics)` holds (the server counts as it goes).
async function scrapeUntil(test, what) {
  const deadline = Date.now() + t.WAIT_MS;
  for (;;) {
    const metrics = await scrape();
    if (test(metrics)) return metrics;
    if (Date.now() > deadline) throw new Error(`${what}: /metrics says ${JSON.stringify([...metrics])}`);
    await t.delay(50);
  }
}

async function user(name, transports) {
  const response = await fetch(`${t.url}/token?user=${name}`);
  const { token } = await response.json();
  const socket = t.client("/", { auth: { token }, transports });
  socket.inbox = [];
  socket.onAny((event, ...args) => socket.inbox.push([event, ...args]));
  await t.connected(socket);
  return socket;
}

t.run(async () => {
  t.step("scrape before");
  const before = await scrape();
  const delta = (after, key) => read(after, key) - read(before, key);

  t.step("two users, one per transport");
  const a = await user("alice", ["websocket"]);
  const b = await user("bob", ["polling"]);
  t.step("three broadcasts from Alice");
  for (let i = 0; i < 3; i += 1) a.emit("broadcast", `hello ${i}`);
  const deadline = Date.now() + t.WAIT_MS;
  while (b.inbox.filter(([e]) => e === "message").length < 3) {
    t.check(Date.now() < deadline, `Bob got ${JSON.stringify(b.inbox)}`);
    await t.delay(20);
  }

  t.step("scrape after");
  const after = await scrapeUntil((m) => delta(m, "sio_packets_received_total") >= 5,
    "five packets in (two CONNECTs, three broadcasts)");
  t.same(read(after, 'sio_sockets{namespace="/"}'), 2, "sockets on /");
  t.same(delta(after, 'sio_connections_total{transport="websocket"}'), 1, "WebSocket connections");
  t.same(delta(after, 'sio_connections_total{transport="polling"}'), 1, "polling connections");
  t.same(delta(after, "sio_packets_received_total"), 5, "packets in");
  t.check(delta(after, "sio_packets_sent_total") >= 5,
    `packets out: ${delta(after, "sio_packets_sent_total")}, expected the CONNECT answers and Bob's 3 messages`);
  t.check(delta(after, "sio_bytes_received_total") > 5, "bytes in");
  t.check(delta(after, "sio_bytes_sent_total") > 5, "bytes out");

  t.step("Bob leaves");
  b.disconnect();
  const gone = await scrapeUntil((m) => read(m, 'sio_sockets{namespace="/"}') === 1, "one socket left");
  t.same(delta(gone, 'sio_disconnects_total{reason="client namespace disconnect"}'), 1, "disconnects");

  t.step("the Admin UI namespace");
  t.check(PASSWORD, "ADMIN_PASSWORD is not set");
  const intruder = t.client("/admin", { auth: { username: "admin", password: "wrong" } });
  t.same((await t.connectError(intruder)).message, "invalid credentials", "a wrong password");
  const admin = t.client("/admin", { auth: { username: "admin", password: PASSWORD } });
  const config = t.once(admin, "config");
  await t.connected(admin);
  t.check((await config)[0].supportedFeatures.includes("DISCONNECT"), "the admin's features");
  for (const s of [a, admin, intruder]) s.close();
});
