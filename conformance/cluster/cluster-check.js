// The mixed-cluster checks: npm socket.io-client clients on each of three
// cluster servers (Node or sio, same application: README.md) check that
// what must cross through Redis does, exactly once.
//
// Usage: node cluster-check.js <url1> <url2> <url3>
// (run.js starts Redis and the servers, and adds the Redis restart check).
// Prints one line per check, then `N passed, N failed`; exits 1 on failure.
"use strict";

const { io: connect } = require("socket.io-client");

const PATIENCE_MS = 15000;
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let uniq = 0;
const next = () => `${process.pid}-${++uniq}`;

/// Polls `predicate` until true; throws with `what` after PATIENCE_MS.
async function waitFor(what, predicate, patience = PATIENCE_MS) {
  const deadline = Date.now() + patience;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/// A client that records what it receives.
async function client(url, node, auth) {
  const socket = connect(url, { auth, reconnection: false, forceNew: true });
  const c = { socket, node, name: auth.name, auth, msgs: [], notes: [], disconnects: [] };
  socket.on("question", (n, ack) => ack(`${auth.name}:${n}`));
  socket.on("msg", (payload) => c.msgs.push(payload));
  socket.on("note", (note) => c.notes.push(note));
  socket.on("disconnect", (reason) => c.disconnects.push(reason));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  const me = await socket.timeout(PATIENCE_MS).emitWithAck("whoami");
  c.id = me.id;
  c.serverNode = me.node;
  return c;
}

const ask = (c, event, ...args) => c.socket.timeout(PATIENCE_MS).emitWithAck(event, ...args);

/// Sends `to-room` then a namespace-wide marker from `sender`'s node and
/// waits until every client got the marker: what that node broadcast before
/// it has then arrived everywhere (one publisher, one subscriber: in order).
async function broadcastThenMarker(sender, everyone, room, payload) {
  await ask(sender, "to-room", { room, payload });
  const marker = next();
  await ask(sender, "to-room", { room: "*", payload: { marker } });
  await waitFor(`marker ${marker} on every client`, () =>
    everyone.every((c) => c.msgs.some((m) => m && m.marker === marker)));
}

async function setup(urls) {
  const nodes = [];
  for (const [i, url] of urls.entries()) {
    const inRoom = await client(url, i, { name: `a${i}`, room: "r" });
    const outside = await client(url, i, { name: `b${i}` });
    nodes.push({ url, inRoom, outside, name: inRoom.serverNode });
  }
  const everyone = nodes.flatMap((n) => [n.inRoom, n.outside]);
  return { nodes, everyone };
}

async function checkRoomBroadcast({ nodes, everyone }) {
  for (const [i, node] of nodes.entries()) {
    const seq = next();
    await broadcastThenMarker(node.outside, everyone, "r", { seq, from: i, bin: ALL_BYTES });
    for (const c of everyone) {
      const got = c.msgs.filter((m) => m && m.seq === seq);
      const want = c.name.startsWith("a") ? 1 : 0;
      assert(got.length === want,
        `broadcast from node ${i}: ${c.name} on node ${c.node} got ${got.length} copies, want ${want}`);
      for (const m of got) {
        assert(Buffer.isBuffer(m.bin) && m.bin.equals(ALL_BYTES),
          `broadcast from node ${i}: ${c.name} got a damaged binary: ${JSON.stringify(m.bin)}`);
        assert(m.from === i, `broadcast from node ${i}: from = ${m.from}`);
      }
    }
  }
}

async function checkFetchSockets({ nodes, everyone }) {
  const want = everyone.map((c) => c.id).sort();
  for (const [i, node] of nodes.entries()) {
    const sockets = await ask(node.outside, "fetch");
    const ids = sockets.map((s) => s.id).sort();
    for (const id of want) {
      assert(ids.includes(id), `fetch on node ${i}: ${id} missing from ${JSON.stringify(ids)}`);
    }
    for (const c of everyone) {
      const s = sockets.find((x) => x.id === c.id);
      assert(s.rooms.includes(c.id), `fetch on node ${i}: ${c.name} rooms ${s.rooms}`);
      assert(s.rooms.includes("r") === c.name.startsWith("a"),
        `fetch on node ${i}: ${c.name} rooms ${s.rooms}`);
      assert(s.data && s.data.name === c.name && s.data.node === nodes[c.node].name,
        `fetch on node ${i}: ${c.name} data ${JSON.stringify(s.data)}`);
      assert(JSON.stringify(s.auth) === JSON.stringify(c.auth),
        `fetch on node ${i}: ${c.name} handshake.auth ${JSON.stringify(s.auth)}`);
    }
  }
}

async function checkBroadcastWithAcks({ nodes }) {
  const want = nodes.map((_, j) => `a${j}`);
  for (const [i, node] of nodes.entries()) {
    const n = i + 10;
    const { error, answers } = await ask(node.outside, "ask-room", { room: "r", n });
    assert(error === null, `broadcast with acks from node ${i}: ${error}`);
    const expected = want.map((name) => `${name}:${n}`).sort();
    assert(JSON.stringify(answers) === JSON.stringify(expected),
      `broadcast with acks from node ${i}: ${JSON.stringify(answers)}, want ${JSON.stringify(expected)}`);
  }
}

async function checkServerSideEmitAck({ nodes }) {
  for (const [i, node] of nodes.entries()) {
    const payload = { q: i, text: "é\u0000\u{1F600}" };
    const { error, replies } = await ask(node.outside, "sse", payload);
    assert(error === null, `serverSideEmit from node ${i}: ${error}`);
    const others = nodes.filter((_, j) => j !== i).map((n) => n.name).sort();
    const from = replies.map((r) => r.node).sort();
    assert(JSON.stringify(from) === JSON.stringify(others),
      `serverSideEmit from node ${i}: replies from ${from}, want ${others}`);
    for (const r of replies) {
      assert(JSON.stringify(r.payload) === JSON.stringify(payload),
        `serverSideEmit from node ${i}: ${r.node} echoed ${JSON.stringify(r.payload)}`);
    }
  }
}

async function checkServerSideEmit({ nodes, everyone }) {
  for (const [i, node] of nodes.entries()) {
    const n = next();
    await ask(node.outside, "sse-noack", { n });
    const marker = next();
    await ask(node.outside, "to-room", { room: "*", payload: { marker } });
    await waitFor(`marker ${marker}`, () =>
      everyone.every((c) => c.msgs.some((m) => m && m.marker === marker)));
    for (const c of everyone) {
      const got = c.notes.filter((x) => x.payload && x.payload.n === n);
      const want = c.node === i ? 0 : 1;
      assert(got.length === want,
        `serverSideEmit from node ${i}: ${c.name} on node ${c.node} got ${got.length} notes, want ${want}`);
    }
  }
}

async function roomsOf(c) {
  return (await ask(c, "whoami")).rooms;
}

async function checkRemoteJoinLeave({ nodes, everyone, roomSubscribed }) {
  for (const [i, node] of nodes.entries()) {
    const target = nodes[(i + 1) % nodes.length].outside;
    const room = `x${next()}`;
    await ask(node.outside, "remote-join", { id: target.id, room });
    await waitFor(`${target.name} to join ${room}`, async () => (await roomsOf(target)).includes(room));
    await roomSubscribed(room, 1);
    const seq = next();
    await broadcastThenMarker(node.outside, everyone, room, { seq });
    for (const c of everyone) {
      const got = c.msgs.filter((m) => m && m.seq === seq).length;
      assert(got === (c === target ? 1 : 0),
        `remote join from node ${i}: ${c.name} got ${got} copies of the ${room} broadcast`);
    }
    await ask(node.outside, "remote-leave", { id: target.id, room });
    await waitFor(`${target.name} to leave ${room}`, async () => !(await roomsOf(target)).includes(room));
  }
}

async function checkRemoteDisconnect({ nodes }) {
  for (const [i, node] of nodes.entries()) {
    const j = (i + 1) % nodes.length;
    const victim = await client(nodes[j].url, j, { name: `v${i}` });
    await ask(node.outside, "remote-disconnect", { id: victim.id });
    await waitFor(`${victim.name} on node ${j} to be disconnected`, () => victim.disconnects.length > 0);
    assert(victim.disconnects[0] === "io server disconnect",
      `remote disconnect from node ${i}: reason ${victim.disconnects[0]}`);
  }
}

/// Redis killed: each node still delivers locally; Redis back: the whole
/// cluster works again.
async function checkRedisRestart(cluster, redis) {
  const { nodes, everyone } = cluster;
  await redis.kill();
  for (const [i, node] of nodes.entries()) {
    const seq = next();
    await ask(node.outside, "to-room", { room: "r", payload: { seq } });
    await waitFor(`local delivery on node ${i} while Redis is down`, () =>
      node.inRoom.msgs.some((m) => m && m.seq === seq));
  }
  await redis.start();
  // Each node publishes and receives again once its clients reconnected.
  for (const [i, node] of nodes.entries()) {
    await waitFor(`node ${i}'s broadcasts to cross again`, async () => {
      const probe = next();
      await ask(node.outside, "to-room", { room: "*", payload: { marker: probe } }).catch(() => {});
      const deadline = Date.now() + 500;
      while (Date.now() < deadline) {
        if (everyone.every((c) => c.msgs.some((m) => m && m.marker === probe))) return true;
        await sleep(20);
      }
      return false;
    }, 60000);
  }
  await checkRoomBroadcast(cluster);
  await checkFetchSockets(cluster);
  await checkBroadcastWithAcks(cluster);
  await checkServerSideEmitAck(cluster);
}

/// Until every node counts the two others (a server-side emit gets two
/// replies): nodes that count by heartbeats know each other only once
/// they have heard one.
async function waitFormed({ nodes }) {
  for (const [i, node] of nodes.entries()) {
    await waitFor(`node ${i} to count the other nodes`, async () => {
      const { replies } = await ask(node.outside, "sse", { formed: i });
      return replies.length === nodes.length - 1;
    });
  }
}

/// The streams adapter across a Redis restart (no persistence: the stream
/// starts empty again), broadcasts made from every node while Redis is
/// down. A sio node retries its appends once Redis is back, and every node
/// reads on from the last id it saw: a sio node's broadcasts all reach every
/// member, once, in order. A Node node's append that was on the wire when
/// the connection dropped is rejected and lost (node-redis queues only the
/// later ones), so of its broadcasts only "at most once, in order" holds.
async function checkStreamsRestart(cluster, redis, kinds) {
  const { nodes, everyone } = cluster;
  const durable = (i) => kinds[i].startsWith("sio-");
  const members = everyone.filter((c) => c.name.startsWith("a"));
  await redis.kill();
  const sent = [];
  for (let k = 0; k < 5; k++) {
    for (const [i, node] of nodes.entries()) {
      const seq = next();
      sent.push({ seq, i });
      await ask(node.outside, "to-room", { room: "r", payload: { seq, from: i, k } });
    }
  }
  await redis.start();
  const owed = sent.filter(({ i }) => durable(i)).map(({ seq }) => seq);
  const missing = () => members.map((c) =>
    `${c.name}: ${owed.filter((seq) => !c.msgs.some((m) => m && m.seq === seq)).length}`).join(", ");
  await waitFor("every sio node's broadcast made while Redis was down on every member", () =>
    members.every((c) => owed.every((seq) => c.msgs.some((m) => m && m.seq === seq))), 30000)
    .catch((err) => { throw new Error(`${err.message} (missing ${missing()})`); });
  // Everything before the marker has arrived: count and order.
  const marker = next();
  await ask(nodes[0].outside, "to-room", { room: "*", payload: { marker } });
  await waitFor(`marker ${marker} on every client`, () =>
    everyone.every((c) => c.msgs.some((m) => m && m.marker === marker)));
  const seqs = sent.map(({ seq }) => seq);
  for (const c of everyone) {
    const got = c.msgs.filter((m) => m && seqs.includes(m.seq));
    const member = c.name.startsWith("a");
    if (!member) {
      assert(got.length === 0, `${c.name} on node ${c.node} got ${got.length} broadcasts to a room it is not in`);
      continue;
    }
    for (const [i] of nodes.entries()) {
      const ks = got.filter((m) => m.from === i).map((m) => m.k);
      const inOrder = ks.every((k, j) => j === 0 || ks[j - 1] < k);
      const whole = !durable(i) || JSON.stringify(ks) === JSON.stringify([0, 1, 2, 3, 4]);
      assert(inOrder && whole, `${c.name} on node ${c.node} got node ${i}'s broadcasts ${JSON.stringify(ks)}`);
    }
  }
  await checkRoomBroadcast(cluster);
  await checkFetchSockets(cluster);
  await checkBroadcastWithAcks(cluster);
  await checkServerSideEmitAck(cluster);
}

async function runChecks(urls, { redis, waitFormed: formed, kinds = [], roomSubscribed } = {}) {
  const results = { passed: 0, failed: 0 };
  const cluster = await setup(urls);
  if (formed) await waitFormed(cluster);
  // The sharded adapter subscribes a room's channel a Redis round trip
  // after the room is made (Node's too): wait for it before broadcasting.
  cluster.roomSubscribed = roomSubscribed || (async () => {});
  await cluster.roomSubscribed("r", urls.length);
  const checks = [
    ["room broadcast from every node reaches every member exactly once, binary intact", checkRoomBroadcast],
    ["fetchSockets on every node sees every socket with rooms, data and handshake.auth", checkFetchSockets],
    ["a broadcast with acks from every node collects every member's answer", checkBroadcastWithAcks],
    ["serverSideEmit with acks gets one reply from each other node", checkServerSideEmitAck],
    ["serverSideEmit without ack reaches each other node once", checkServerSideEmit],
    ["remote socketsJoin / socketsLeave across nodes", checkRemoteJoinLeave],
    ["remote disconnectSockets across nodes", checkRemoteDisconnect],
  ];
  if (redis && formed) {
    checks.push(["Redis restart during broadcasts: none lost, in order, the cluster works again after",
      (c) => checkStreamsRestart(c, redis, kinds)]);
  } else if (redis) {
    checks.push(["Redis restart: local delivery goes on, the cluster works again after",
      (c) => checkRedisRestart(c, redis)]);
  }
  for (const [name, check] of checks) {
    try {
      await check(cluster);
      results.passed++;
      console.log(`ok - ${name}`);
    } catch (err) {
      results.failed++;
      console.log(`not ok - ${name}: ${err.message}`);
    }
  }
  for (const c of cluster.everyone) c.socket.close();
  return results;
}

module.exports = { runChecks };

if (require.main === module) {
  const urls = process.argv.slice(2);
  if (urls.length !== 3) {
    console.error("usage: node cluster-check.js <url1> <url2> <url3>");
    process.exit(2);
  }
  runChecks(urls).then(({ passed, failed }) => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}
