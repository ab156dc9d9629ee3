"use strict";
// Deeply nested JSON (30,000 levels, inside maxHttpBufferSize) in every
// place a client puts JSON: an EVENT for a raw handler, an EVENT for a
// typed handler, an ACK, a BINARY_EVENT (placeholders are searched for),
// a CONNECT's auth, and an EVENT in a polling POST. The server must not
// recurse into it: it lives, and each connection either still answers a
// ping or was closed.
const h = require("./lib");
const { t } = h;

const DEPTH = 30000;
const arrays = "[".repeat(DEPTH) + "]".repeat(DEPTH);
const objects = '{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH);
const mixed = '[{"a":'.repeat(DEPTH / 2) + "1" + "}]".repeat(DEPTH / 2);
const PING_ID = 77;

// Still answering (ack of `ping`), or closed by the server.
async function answersOrClosed(ws) {
  if (ws.sock.closedAt === null) ws.text(`42${PING_ID}["ping",1]`);
  const ack = await ws.next((f) => f.opcode === 0x1 && f.payload.toString().startsWith(`43${PING_ID}[`), 3000);
  const closed = ws.sock.closedAt !== null;
  ws.sock.destroy();
  t.check(ack || closed, `the connection neither answers nor was closed`);
  return ack ? "answered" : "closed";
}

h.hostileCase(async ({ pid, info }) => {
  t.check(arrays.length < info.max_http_buffer_size, "the nesting does not fit in one message");
  const outcomes = [];
  const wsAttacks = {
    "raw EVENT, arrays": (ws) => ws.text(`421["echo",${arrays}]`),
    "raw EVENT, objects": (ws) => ws.text(`421["echo",${objects}]`),
    "typed EVENT, arrays": (ws) => ws.text(`421["typed",${arrays}]`),
    "typed EVENT, arrays and objects": (ws) => ws.text(`421["typed",${mixed}]`),
    "ACK": (ws) => ws.text(`4312[${arrays}]`),
    "BINARY_EVENT": (ws) => {
      ws.text(`451-1["echo",${"[".repeat(DEPTH)}{"_placeholder":true,"num":0}${"]".repeat(DEPTH)}]`);
      ws.binary(Buffer.from([1]));
    },
    "BINARY_EVENT without attachments": (ws) => ws.text(`450-1["echo",${objects}]`),
  };
  for (const [what, send] of Object.entries(wsAttacks)) {
    t.step(what);
    const ws = await h.rawSocket();
    send(ws);
    outcomes.push(`${what}: ${await answersOrClosed(ws)}`);
    t.check(h.alive(pid), "the server died");
  }

  t.step("CONNECT with nested auth");
  const ws = await h.rawWs();
  ws.text(`40{"token":${arrays}}`);
  await ws.next((f) => f.opcode === 0x1 && /^4[04]/.test(f.payload.toString()), 3000);
  ws.text("40");
  outcomes.push(`CONNECT auth: ${await answersOrClosed(ws)}`);
  t.check(h.alive(pid), "CONNECT auth: the server died");

  t.step("polling POST");
  const sid = await h.handshake();
  for (const body of ["40", `42["typed",${arrays}]`, `42["echo",${objects}]`]) {
    const s = await h.rawConnect();
    s.write(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: ${h.HOST}\r\n` +
      `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await h.receivedWithin(s, h.responseComplete, 3000);
    s.destroy();
  }
  t.check(h.alive(pid), "polling POST: the server died");
  t.note(outcomes.join("; "));
});
