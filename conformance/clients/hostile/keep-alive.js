"use strict";
// Idle keep-alive connections: 20 connections each make one complete
// request (10 an Engine.IO handshake, 10 a 404 elsewhere), keep the
// connection open and send nothing more. The server must close each
// within its keep-alive timeout plus 1 s after answering.
const h = require("./lib");
const { t } = h;

const EACH = 10;
const SLACK_MS = 1000;

h.hostileCase(async ({ info }) => {
  t.step(`${2 * EACH} requests on keep-alive connections`);
  const paths = [
    ...Array(EACH).fill("/socket.io/?EIO=4&transport=polling"),
    ...Array(EACH).fill("/elsewhere"),
  ];
  const socks = await Promise.all(paths.map(async (p) => {
    const s = await h.rawConnect();
    s.write(`GET ${p} HTTP/1.1\r\nHost: ${h.HOST}\r\nConnection: keep-alive\r\n\r\n`);
    return s;
  }));
  try {
    const answered = await Promise.all(socks.map((s) => h.receivedWithin(s, h.responseComplete, t.WAIT_MS)));
    t.check(answered.every(Boolean), `${answered.filter((a) => !a).length} requests got no complete answer`);
    const answeredAt = Date.now();
    const statuses = socks.map((s) => h.statusOf(s.received));
    t.same(statuses, [...Array(EACH).fill(200), ...Array(EACH).fill(404)], "statuses");

    t.step("the server closes the idle connections");
    const limit = info.keep_alive_timeout_ms + SLACK_MS;
    const closed = await Promise.all(socks.map((s) => h.closedWithin(s, limit)));
    const open = closed.filter((c) => !c).length;
    t.check(open === 0, `${open} of ${socks.length} idle keep-alive connections still open ${limit} ms after their answer (keep-alive timeout ${info.keep_alive_timeout_ms} ms)`);
    t.note(`closed ${Math.max(...socks.map((s) => s.closedAt)) - answeredAt} ms after the answers at most`);
  } finally {
    for (const s of socks) s.destroy();
  }
});
