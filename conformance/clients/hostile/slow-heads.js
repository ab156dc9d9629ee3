"use strict";
// Slow request heads: 20 connections send a request head a byte every
// 100 ms (it would take 6 s), 10 send nothing at all. Each must be
// answered 408 (those that sent bytes) and closed within the server's
// headers timeout plus 1 s; nothing is held.
const h = require("./lib");
const { t } = h;

const SLOW = 20;
const SILENT = 10;
const HEAD = `GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: ${h.HOST}\r\nUser-Agent: slowloris\r\n\r\n`;
const BYTE_EVERY_MS = 100;
const SLACK_MS = 1000;

h.hostileCase(async ({ info }) => {
  t.step(`open ${SLOW} slow and ${SILENT} silent connections`);
  const slow = await Promise.all(Array.from({ length: SLOW }, () => h.rawConnect()));
  const silent = await Promise.all(Array.from({ length: SILENT }, () => h.rawConnect()));
  let sent = 0;
  const dribble = setInterval(() => {
    if (sent >= HEAD.length) return;
    for (const s of slow) if (s.closedAt === null) s.write(HEAD[sent]);
    sent++;
  }, BYTE_EVERY_MS);
  try {
    t.step("the server closes them");
    const limit = info.headers_timeout_ms + SLACK_MS;
    const closed = await Promise.all([...slow, ...silent].map((s) => h.closedWithin(s, limit)));
    const open = closed.filter((c) => !c).length;
    t.check(open === 0, `${open} of ${SLOW + SILENT} connections still open ${limit} ms after connecting (headers timeout ${info.headers_timeout_ms} ms; ${sent} bytes of the head sent)`);
    const worst = Math.max(...[...slow, ...silent].map((s) => s.closedAt - s.connectedAt));
    t.note(`closed after ${worst} ms at most (headers timeout ${info.headers_timeout_ms} ms)`);
    for (const s of slow) {
      const status = h.statusOf(s.received);
      t.check(status === 408, `a slow head got ${status === null ? JSON.stringify(s.received.toString("latin1").slice(0, 40)) : status}, expected a 408`);
    }
    for (const s of silent) {
      const status = h.statusOf(s.received);
      t.check(s.received.length === 0 || status === 408, `a silent connection got ${JSON.stringify(s.received.toString("latin1").slice(0, 40))}, expected nothing or a 408`);
    }
  } finally {
    clearInterval(dribble);
    for (const s of [...slow, ...silent]) s.destroy();
  }
});
