"use strict";
// A burst that readers keep up with: 3 socket.io-client readers join room
// "burst"; another client has the server send the room 20,000 messages of
// 50 bytes at once (about 1.4 MB per reader: past the server's packet
// bound, 10,000, well under its byte bound, 4 MiB). Every reader must get every message, in
// order, and nobody is disconnected.
const h = require("./lib");
const { t } = h;

const READERS = 3;
const COUNT = 20000;
const SIZE = 50;
const WAIT_MS = 10000;

h.hostileCase(async () => {
  t.step(`${READERS} readers join`);
  const readers = Array.from({ length: READERS }, () => t.client("/", { transports: ["websocket"] }));
  const sender = t.client("/", { transports: ["websocket"] });
  try {
    await Promise.all([...readers, sender].map((s) => t.connected(s)));
    const state = readers.map((r) => {
      const st = { got: 0, outOfOrder: 0, gone: null };
      r.on("b", (i, blob) => {
        if (i !== st.got || blob.length !== SIZE) st.outOfOrder++;
        st.got++;
      });
      r.on("disconnect", (reason) => { st.gone = reason; });
      return st;
    });
    for (const r of readers) t.same(await t.emitAck(r, "join", "burst"), [true], "join");

    t.step(`burst of ${COUNT} messages`);
    const started = Date.now();
    t.same(await t.emitAck(sender, "burst", { room: "burst", count: COUNT, size: SIZE }), [COUNT], "burst ack");
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline && state.some((st) => st.got < COUNT && !st.gone)) await t.delay(50);
    t.note(`readers got ${state.map((st) => st.got).join(", ")} of ${COUNT} in ${Date.now() - started} ms`);
    state.forEach((st, i) => {
      t.check(!st.gone, `reader ${i} was disconnected (${st.gone}) after ${st.got} of ${COUNT} messages`);
      t.check(st.got === COUNT, `reader ${i} got ${st.got} of ${COUNT} messages in ${WAIT_MS} ms`);
      t.check(st.outOfOrder === 0, `reader ${i}: ${st.outOfOrder} messages out of order or cut`);
    });
  } finally {
    for (const s of [...readers, sender]) s.close();
  }
});
