"use strict";
// Attachment bombs on raw WebSockets: a BINARY_EVENT announcing a huge
// number of attachments, one announcing one more than the server allows,
// a stray attachment with no BINARY_EVENT, a placeholder pointing past
// the attachments sent: each session is closed. Then 20 connections each
// announce the most attachments allowed, send all but one (about 1 MB
// each, 20 MB in all) and stall; once they go, their memory must be
// freed. A well-formed BINARY_EVENT is echoed first, so the frames
// themselves are known good.
const h = require("./lib");
const { t } = h;

const PARTIAL = 20;
const PLACEHOLDER = (n) => `{"_placeholder":true,"num":${n}}`;

// Resolves with how the server ended the session: a close frame code,
// an Engine.IO close packet, or the TCP close.
async function closedSession(ws, info) {
  const closed = await h.closedWithin(ws.sock, info.close_timeout_ms + 1000);
  ws.sock.destroy();
  return closed;
}

h.hostileCase(async ({ info }) => {
  t.step("a well-formed BINARY_EVENT is echoed");
  const good = await h.rawSocket();
  good.text(`451-0["echo",${PLACEHOLDER(0)}]`);
  good.binary(Buffer.from([1, 2, 3]));
  t.check(await good.nextText("461-0["), "no BINARY_ACK for a well-formed BINARY_EVENT");
  good.sock.destroy();

  const bombs = {
    "a BINARY_EVENT announcing 10^15 attachments": (ws) => {
      ws.text(`451000000000000000-["echo",${PLACEHOLDER(0)}]`);
      ws.binary(Buffer.alloc(10));
    },
    [`a BINARY_EVENT announcing ${info.max_attachments + 1} attachments`]: (ws) => {
      const n = info.max_attachments + 1;
      const args = Array.from({ length: n }, (_, i) => PLACEHOLDER(i)).join(",");
      ws.text(`45${n}-["echo",${args}]`);
      for (let i = 0; i < n; i++) ws.binary(Buffer.alloc(10));
    },
    "a stray attachment": (ws) => ws.binary(Buffer.alloc(1000)),
    "a placeholder past the attachments": (ws) => {
      ws.text(`451-["echo",${PLACEHOLDER(5)}]`);
      ws.binary(Buffer.alloc(10));
    },
    "a placeholder with a negative index": (ws) => {
      ws.text(`451-["echo",${PLACEHOLDER(-1)}]`);
      ws.binary(Buffer.alloc(10));
    },
  };
  for (const [what, send] of Object.entries(bombs)) {
    t.step(what);
    const ws = await h.rawSocket();
    send(ws);
    t.check(await closedSession(ws, info), `the session is still open ${info.close_timeout_ms + 1000} ms later`);
  }

  t.step(`${PARTIAL} connections stall with ${info.max_attachments - 1} of ${info.max_attachments} attachments sent`);
  const size = Math.min(info.max_http_buffer_size - 100, Math.floor(info.max_attachment_bytes / info.max_attachments) - 100);
  const stalled = await Promise.all(Array.from({ length: PARTIAL }, () => h.rawSocket()));
  const n = info.max_attachments;
  const args = Array.from({ length: n }, (_, i) => PLACEHOLDER(i)).join(",");
  for (const ws of stalled) {
    ws.text(`45${n}-["echo",${args}]`);
    for (let i = 0; i < n - 1; i++) ws.binary(Buffer.alloc(size, i));
  }
  // Everything written and read by the server.
  await Promise.all(stalled.map((ws) => new Promise((resolve) => {
    if (ws.sock.writableLength === 0) resolve();
    else ws.sock.once("drain", resolve);
  })));
  await t.delay(300);
  for (const ws of stalled) ws.sock.destroy();
  t.note(`${PARTIAL} x ${n - 1} x ${size} bytes held, then dropped`);
});
