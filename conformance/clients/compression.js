"use strict";
// compression: the server runs with perMessageDeflate on and
// httpCompression at its default (Node's options).
//
// WebSocket: the npm client's `ws` offers permessage-deflate; the
// extension must be agreed, long messages must cross the wire compressed
// both ways (counted on the TCP socket) and arrive intact.
// Polling: a large response is compressed with the coding the request's
// Accept-Encoding allows (gzip, deflate; Node's zlib decodes it), a small
// one or one to a request without Accept-Encoding is not.
const http = require("node:http");
const zlib = require("node:zlib");
const t = require("./lib");

const LONG = 200000;

// The server's `big` text (conformance/src/compression.rs).
function bigText(len) {
  const line = "sio compresses this line; ";
  return line.repeat(Math.ceil(len / line.length)).slice(0, len);
}

async function checkDeflateSocket(socket, label) {
  const ws = socket.io.engine.transport.ws;
  t.check(ws && typeof ws.extensions === "string", `${label}: no ws WebSocket under the client`);
  t.check(ws.extensions.includes("permessage-deflate"),
    `${label}: permessage-deflate not agreed (extensions: ${JSON.stringify(ws.extensions)})`);
  const tcp = ws._socket;

  t.step(`${label}: a long message from the server`);
  let read = tcp.bytesRead;
  const got = t.once(socket, "big");
  socket.emit("big", LONG);
  const [text] = await got;
  t.check(text === bigText(LONG), `${label}: the long message arrived altered (${text.length} chars)`);
  const inbound = tcp.bytesRead - read;
  t.check(inbound < LONG / 10, `${label}: ${LONG} bytes took ${inbound} bytes on the wire: not compressed`);

  t.step(`${label}: a long message to the server and back`);
  const sent = `${bigText(LONG)} ${"é".repeat(100)} 🎉`;
  const written = tcp.bytesWritten;
  read = tcp.bytesRead;
  t.same(await t.emitAck(socket, "echo", sent), [sent], `${label}: long echo`);
  const outbound = tcp.bytesWritten - written;
  const back = tcp.bytesRead - read;
  t.check(outbound < LONG / 10, `${label}: our ${LONG} bytes took ${outbound} bytes: the client did not compress`);
  t.check(back < LONG / 10, `${label}: the echo took ${back} bytes: not compressed`);

  t.step(`${label}: short messages stay plain and work`);
  t.same(await t.emitAck(socket, "echo", "hi", Buffer.from([1, 2, 3])), ["hi", Buffer.from([1, 2, 3])],
    `${label}: short echo`);
  t.note(`${label}: ${LONG} bytes in ${inbound} bytes, out ${outbound}, echoed back in ${back}`);
}

function request(method, path, headers = {}, body = null) {
  const target = new URL(path, t.url);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

// A polling session connected to "/": its query string.
async function pollingSession() {
  const open = await request("GET", "/socket.io/?EIO=4&transport=polling");
  t.check(open.status === 200, `handshake: status ${open.status}`);
  const sid = JSON.parse(open.body.toString().slice(1)).sid;
  const query = `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
  const post = await request("POST", query, { "content-type": "text/plain;charset=UTF-8" }, "40");
  t.check(post.status === 200, `connect: POST status ${post.status}`);
  const connect = await request("GET", query);
  t.check(connect.body.toString().startsWith("40"), `connect: got ${connect.body.toString()}`);
  return query;
}

async function poll(query, packet, acceptEncoding) {
  const post = await request("POST", query, { "content-type": "text/plain;charset=UTF-8" }, packet);
  t.check(post.status === 200, `POST ${packet}: status ${post.status}`);
  const headers = acceptEncoding === null ? {} : { "accept-encoding": acceptEncoding };
  return request("GET", query, headers);
}

function decode(response) {
  switch (response.headers["content-encoding"]) {
    case "gzip": return zlib.gunzipSync(response.body).toString();
    case "deflate": return zlib.inflateSync(response.body).toString();
    case undefined: return response.body.toString();
    default: throw new Error(`unexpected Content-Encoding ${response.headers["content-encoding"]}`);
  }
}

async function checkPolling() {
  const query = await pollingSession();
  const expected = `42${JSON.stringify(["big", bigText(50000)])}`;
  for (const [accept, coding] of [
    ["gzip, deflate, br", "gzip"],
    ["deflate", "deflate"],
    ["br;q=1, deflate;q=0.5, gzip;q=0.8", "gzip"],
    ["identity", undefined],
    [null, undefined],
  ]) {
    t.step(`polling: a large response, Accept-Encoding ${JSON.stringify(accept)}`);
    const res = await poll(query, '42["big",50000]', accept);
    t.check(res.status === 200, `status ${res.status}`);
    t.same(res.headers["content-encoding"], coding, "Content-Encoding");
    t.same(Number(res.headers["content-length"]), res.body.length, "Content-Length is the encoded length");
    t.check(decode(res) === expected, `the body decoded to something else (${decode(res).length} chars)`);
    if (coding) t.check(res.body.length < 5000, `${res.body.length} bytes for 50 kB: not compressed`);
  }
  t.step("polling: a small response is not compressed");
  const small = await poll(query, '421["echo","hi"]', "gzip, deflate");
  t.same(small.headers["content-encoding"], undefined, "Content-Encoding of a small body");
  t.same(small.body.toString(), '431["hi"]', "small body");
}

t.run(async () => {
  t.step("websocket only");
  const ws = t.client("/", { transports: ["websocket"] });
  await t.connected(ws);
  await checkDeflateSocket(ws, "websocket");
  ws.disconnect();

  t.step("polling, then the upgrade");
  const up = t.client();
  await t.connected(up);
  await t.transportIs(up, "websocket");
  await checkDeflateSocket(up, "upgraded");
  up.disconnect();

  await checkPolling();
});
