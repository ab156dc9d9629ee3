"use strict";
// Slow request bodies: 10 POSTs to live polling sessions announce a
// 1000-byte body (5 with Content-Length, 5 chunked) and send it a byte
// every 100 ms. Each must be answered 408 and closed within the server's
// body timeout plus 1 s after its head.
const h = require("./lib");
const { t } = h;

const EACH = 5;
const BYTE_EVERY_MS = 100;
const SLACK_MS = 1000;

h.hostileCase(async ({ info }) => {
  t.step("polling sessions");
  const sids = [];
  for (let i = 0; i < 2 * EACH; i++) sids.push(await h.handshake());

  t.step(`${2 * EACH} POSTs with slow bodies`);
  const socks = await Promise.all(sids.map(async (sid, i) => {
    const s = await h.rawConnect();
    const framing = i < EACH ? "Content-Length: 1000" : "Transfer-Encoding: chunked";
    s.write(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: ${h.HOST}\r\n` +
      `Content-Type: text/plain;charset=UTF-8\r\n${framing}\r\n\r\n${i < EACH ? "" : "3e8\r\n"}`);
    s.headSentAt = Date.now();
    return s;
  }));
  const dribble = setInterval(() => {
    for (const s of socks) if (s.closedAt === null) s.write("4");
  }, BYTE_EVERY_MS);
  try {
    t.step("the server answers 408 and closes");
    const limit = info.body_timeout_ms + SLACK_MS;
    const closed = await Promise.all(socks.map((s) => h.closedWithin(s, limit)));
    const open = closed.filter((c) => !c).length;
    t.check(open === 0, `${open} of ${socks.length} slow POSTs still open ${limit} ms after their head (body timeout ${info.body_timeout_ms} ms)`);
    t.note(`closed ${Math.max(...socks.map((s) => s.closedAt - s.headSentAt))} ms after the head at most`);
    for (const s of socks) {
      const status = h.statusOf(s.received);
      t.check(status === 408, `a slow body got ${status === null ? JSON.stringify(s.received.toString("latin1").slice(0, 40)) : status}, expected a 408`);
    }
  } finally {
    clearInterval(dribble);
    for (const s of socks) s.destroy();
  }
});
