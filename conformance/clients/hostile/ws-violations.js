"use strict";
// WebSocket protocol violations, each on a fresh Engine.IO WebSocket:
// the server must fail the connection with the close code RFC 6455 and
// the `ws` library use (1002 protocol error, 1007 bad UTF-8) within 1 s
// and drop the TCP connection within its close timeout. Then garbage in
// place of HTTP and of a WebSocket handshake: refused and closed.
const h = require("./lib");
const { t } = h;

const CLOSE_MS = 1000;

const violations = [
  ["reserved data opcode 0x3", 1002, (ws) => ws.raw(h.frame(0x3, "40"))],
  ["reserved control opcode 0xB", 1002, (ws) => ws.raw(h.frame(0xb, ""))],
  ["unmasked client frame", 1002, (ws) => ws.raw(h.frame(0x1, "40", { unmasked: true }))],
  ["invalid UTF-8 in a text frame", 1007, (ws) => ws.raw(h.frame(0x1, Buffer.from([0x34, 0xc3, 0x28])))],
  ["invalid UTF-8 split over fragments", 1007, (ws) => {
    ws.raw(h.frame(0x1, Buffer.from([0x34, 0xe2, 0x82]), { fin: false }));
    ws.raw(h.frame(0x0, Buffer.from([0x28])));
  }],
  ["ping with a 126-byte payload", 1002, (ws) => ws.raw(h.frame(0x9, Buffer.alloc(126)))],
  ["fragmented ping", 1002, (ws) => ws.raw(h.frame(0x9, "x", { fin: false }))],
  ["RSV1 without an extension", 1002, (ws) => ws.raw(h.frame(0x1, "3", { rsv: 4 }))],
  ["continuation with no message", 1002, (ws) => ws.raw(h.frame(0x0, "3"))],
  ["new message inside a fragmented one", 1002, (ws) => {
    ws.raw(h.frame(0x1, "4", { fin: false }));
    ws.raw(h.frame(0x1, "2"));
  }],
  ["close frame with a 1-byte body", 1002, (ws) => ws.raw(h.frame(0x8, Buffer.from([3])))],
  ["close frame with code 1005", 1002, (ws) => ws.raw(h.frame(0x8, Buffer.from([0x03, 0xed])))],
  ["close frame with a bad UTF-8 reason", 1007, (ws) => ws.raw(h.frame(0x8, Buffer.from([0x03, 0xe8, 0xc3, 0x28])))],
  // RFC 6455 says the top bit must be 0 (1002); `ws` calls it too big (1009).
  ["64-bit length with its top bit set", [1002, 1009], (ws) => ws.raw(h.frame(0x2, Buffer.alloc(4), { claimedLength: 1n << 63n }))],
  ["0xff garbage", 1002, (ws) => ws.raw(Buffer.alloc(1024, 0xff))],
];

// Not HTTP, or not a WebSocket handshake: any 4xx, or a close without one.
const badRequests = [
  ["binary garbage instead of HTTP", Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) & 0xff))],
  ["request line of garbage", Buffer.from("\x01\x02 GET\x7f /\x00 HTTP/9.9\r\n\r\n", "latin1")],
  ["WebSocket handshake, version 9", Buffer.from(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${h.HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 9\r\n\r\n`)],
  ["WebSocket handshake, no key", Buffer.from(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${h.HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`)],
];

h.hostileCase(async ({ info }) => {
  t.step(`${violations.length} violations, one per connection`);
  const wrong = [];
  await Promise.all(violations.map(async ([what, code, send]) => {
    const ws = await h.rawWs();
    send(ws);
    await ws.next((f) => f.opcode === 0x8, CLOSE_MS);
    const got = ws.closeCode();
    const closed = await h.closedWithin(ws.sock, info.close_timeout_ms + 1000);
    ws.sock.destroy();
    const codes = [].concat(code);
    if (!codes.includes(got)) wrong.push(`${what}: close ${got === null ? "missing" : got}, expected ${codes.join(" or ")}`);
    else if (!closed) wrong.push(`${what}: TCP still open ${info.close_timeout_ms + 1000} ms after the close frame`);
  }));
  t.check(wrong.length === 0, wrong.join("; "));

  for (const [what, bytes] of badRequests) {
    t.step(what);
    const s = await h.rawConnect();
    s.write(bytes);
    await h.receivedWithin(s, (b) => b.includes("\r\n\r\n"), CLOSE_MS);
    const status = h.statusOf(s.received);
    t.check(status === null || (status >= 400 && status < 500), `answered ${status}, expected a 4xx`);
    const limit = info.headers_timeout_ms + 1000;
    t.check(await h.closedWithin(s, limit), `still open ${limit} ms later`);
    s.destroy();
  }
});
