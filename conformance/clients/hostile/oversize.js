"use strict";
// Oversize input, 5 of each at once: a POST body past maxHttpBufferSize,
// a POST announcing 10 GB, a chunked POST announcing a huge chunk, a
// WebSocket frame header announcing 2^62 bytes, a text and a binary
// message past the limit, and a message of 50 fragments past it. Each is
// refused at once (413, or close 1009) and its connection closed; the
// server allocates nothing near what was announced.
const h = require("./lib");
const { t } = h;

const EACH = 5;
const ANSWER_MS = 1000;

// A POST to a live session; resolves with { status, closed }.
async function post(headers, body) {
  const sid = await h.handshake();
  const s = await h.rawConnect();
  s.write(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: ${h.HOST}\r\n` +
    `Content-Type: text/plain;charset=UTF-8\r\n${headers}\r\n\r\n`);
  s.write(body);
  // The answer, or a close without one.
  await h.receivedWithin(s, (b) => b.includes("\r\n\r\n"), ANSWER_MS);
  const status = h.statusOf(s.received);
  s.destroy();
  return status;
}

async function wsOversize(send, info) {
  const ws = await h.rawWs();
  send(ws, info);
  const close = await ws.next((f) => f.opcode === 0x8, ANSWER_MS);
  const code = ws.closeCode();
  const closed = await h.closedWithin(ws.sock, info.close_timeout_ms + 1000);
  ws.sock.destroy();
  return { close: close ? code : null, closed };
}

const WS_ATTACKS = {
  "frame header announcing 2^62 bytes": (ws) => ws.raw(h.frame(0x2, Buffer.alloc(16), { claimedLength: 1n << 62n })),
  "text message past the limit": (ws, info) => ws.text("4" + "a".repeat(info.max_http_buffer_size + 1000)),
  "binary message past the limit": (ws, info) => ws.binary(Buffer.alloc(info.max_http_buffer_size + 1000)),
  "50 fragments past the limit": (ws, info) => {
    const part = Math.ceil((info.max_http_buffer_size + 1000) / 50);
    ws.text("4" + "b".repeat(part), { fin: false });
    for (let i = 1; i < 50; i++) ws.raw(h.frame(0x0, "b".repeat(part), { fin: i === 49 }));
  },
};

h.hostileCase(async ({ info }) => {
  const over = info.max_http_buffer_size * 2;
  const postAttacks = {
    "POST body past the limit": () => post(`Content-Length: ${over}`, "4" + "x".repeat(over - 1)),
    "POST announcing 10 GB": () => post("Content-Length: 10000000000", "4xxxxxxxx"),
    "chunked POST announcing a huge chunk": () => post("Transfer-Encoding: chunked", "ffffffffffff\r\n4xxxx"),
  };
  for (const [what, attack] of Object.entries(postAttacks)) {
    t.step(what);
    const statuses = await Promise.all(Array.from({ length: EACH }, attack));
    for (const status of statuses) {
      t.check(status === 413 || status === 400, `answered ${status === null ? "nothing" : status} within ${ANSWER_MS} ms, expected a 413`);
    }
  }
  for (const [what, send] of Object.entries(WS_ATTACKS)) {
    t.step(what);
    const results = await Promise.all(Array.from({ length: EACH }, () => wsOversize(send, info)));
    for (const r of results) {
      t.check(r.close === 1009, `close frame ${r.close === null ? "missing" : r.close} within ${ANSWER_MS} ms, expected 1009`);
      t.check(r.closed, `connection still open ${info.close_timeout_ms + 1000} ms after the close frame`);
    }
  }
});
