"use strict";
// A burst that readers keep up with: 3 socket.io-client readers join room
// "burst"; the first has the server send the room 5,000 messages of 100
// bytes at once, 4 times over, each round once every reader has the last
// (20,000 messages, about 2.6 MB a reader). A round is under both of the
// server's bounds (10,000 packets, 4 MiB), the whole burst is past the
// packet bound: every reader must get every message, in order, and nobody
// is disconnected.
//
// The rounds are what "keeping up" means here: 20,000 messages sent at
// once by one handler are a backlog of 20,000 packets however fast the
// readers are (on smol nothing is written before the handler returns).
const h = require("./lib");
const { t } = h;

const READERS = 3;
const ROUNDS = 4;
const PER_ROUND = 5000;
const SIZE = 100;
const ROUND_MS = 5000;

h.hostileCase(async () => {
  t.step(`${READERS} readers join`);
  const readers = Array.from({ length: READERS }, () => t.client("/", { transports: ["websocket"] }));
  try {
    await Promise.all(readers.map((s) => t.connected(s)));
    const state = readers.map((r) => {
      const st = { got: 0, outOfOrder: 0, gone: null };
      r.on("b", (i, blob) => {
        if (i !== st.got % PER_ROUND || blob.length !== SIZE) st.outOfOrder++;
        st.got++;
      });
      r.on("disconnect", (reason) => { st.gone = reason; });
      return st;
    });
    for (const r of readers) t.same(await t.emitAck(r, "join", "burst"), [true], "join");

    const started = Date.now();
    for (let round = 1; round <= ROUNDS; round++) {
      t.step(`round ${round} of ${ROUNDS}: ${PER_ROUND} messages`);
      t.same(await t.emitAck(readers[0], "burst", { room: "burst", count: PER_ROUND, size: SIZE }), [PER_ROUND], "burst ack");
      const want = round * PER_ROUND;
      const deadline = Date.now() + ROUND_MS;
      while (Date.now() < deadline && state.some((st) => st.got < want && !st.gone)) await t.delay(20);
      state.forEach((st, i) => {
        t.check(!st.gone, `reader ${i} was disconnected (${st.gone}) after ${st.got} of ${want} messages`);
        t.check(st.got === want, `reader ${i} got ${st.got} of ${want} messages in ${ROUND_MS} ms`);
        t.check(st.outOfOrder === 0, `reader ${i}: ${st.outOfOrder} messages out of order or cut`);
      });
    }
    t.note(`${READERS} readers got ${ROUNDS * PER_ROUND} messages each in ${Date.now() - started} ms`);
  } finally {
    for (const s of readers) s.close();
  }
});
