"use strict";
// server-hooks (conformance/src/server_hooks.rs): Node's engine hooks and
// the socket API pieces issue 19 adds, seen from the npm client, raw HTTP
// requests and a raw `ws` WebSocket (engine.io-client's own dependency).
// - allowRequest: `?deny=plain` gets Node's 403 {"code":4,"message":"Forbidden"},
//   `?deny=<text>` the text; a WebSocket handshake a 400 with the text;
//   the npm client sees a connect_error on both transports.
// - initial_headers (Set-Cookie on the handshake only) and headers
//   (X-Hooks on every polling answer and every 101); a CR/LF value is
//   refused by the server, never written.
// - connection_error: code, message and context as Node reports them.
// - socket.transport(): polling, then websocket with the upgrade event.
// - compress(false): a long message crosses the wire uncompressed while
//   permessage-deflate is agreed.
// - disconnecting: runs before disconnect, both list the rooms.
// - cleanupEmptyChildNamespaces: an emptied dynamic child is removed,
//   and made again by the next client.
const http = require("node:http");
const WebSocket = require("ws");
const t = require("./lib");

const LONG = 200000;

function request(method, query, body = null) {
  const target = new URL(`/socket.io/?${query}`, t.url);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks).toString(),
      }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

// A raw WebSocket handshake: { open, headers, ws } or { status, body }.
function websocket(query) {
  const target = `${t.url.replace(/^http/, "ws")}/socket.io/?${query}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { perMessageDeflate: false });
    let headers = null;
    ws.on("upgrade", (res) => { headers = res.headers; });
    ws.on("open", () => resolve({ open: true, headers, ws }));
    ws.on("unexpected-response", (req, res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on("error", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    ws.on("error", (e) => { if (!headers) reject(e); });
  });
}

// Asks `event` until `predicate(reply)` holds (the server logs from tasks
// of their own); the last reply in the error otherwise.
async function askUntil(socket, event, predicate, what) {
  let reply;
  for (let i = 0; i < 50; i++) {
    [reply] = await t.emitAck(socket, event);
    if (predicate(reply)) return reply;
    await t.delay(50);
  }
  throw new Error(`${what}: last reply ${JSON.stringify(reply)}`);
}

async function allowRequest() {
  t.step("allowRequest: polling handshakes refused as Node refuses them");
  let res = await request("GET", "EIO=4&transport=polling&deny=plain");
  t.same([res.status, res.body], [403, '{"code":4,"message":"Forbidden"}'], "refused with Node's message");
  t.same(res.headers["content-type"], "application/json", "content type");
  t.check(res.headers["x-hooks"] === undefined, "a refusal got the headers hook's header");
  res = await request("GET", "EIO=4&transport=polling&deny=go%20%22away%22");
  t.same([res.status, res.body], [403, '{"code":4,"message":"go \\"away\\""}'], "refused with the application's message");

  t.step("allowRequest: a WebSocket handshake refused");
  const ws = await websocket("EIO=4&transport=websocket&deny=nope");
  t.same([ws.status, ws.body], [400, "nope"], "refused upgrade");

  t.step("allowRequest: the npm client's connect_error");
  for (const transports of [["polling"], ["websocket"]]) {
    const socket = t.client("/", { transports, query: { deny: "plain" } });
    const err = await t.connectError(socket);
    const expected = transports[0] === "polling" ? "xhr poll error" : "websocket error";
    t.same(err.message, expected, `${transports[0]} connect_error`);
    if (transports[0] === "polling") t.same(err.description, 403, "polling status");
    socket.close();
  }
}

async function headers() {
  t.step("headers: the polling handshake gets both hooks' headers");
  let res = await request("GET", "EIO=4&transport=polling");
  t.same(res.status, 200, "handshake");
  t.same(res.headers["set-cookie"], ["hooks=initial; Path=/"], "initial_headers on the handshake");
  t.same(res.headers["x-hooks"], "every", "headers on the handshake");
  t.check(res.headers["x-evil"] === undefined && !res.body.includes("evil"), "an injected header was written");
  const sid = JSON.parse(res.body.slice(1)).sid;

  t.step("headers: later polling requests get only the headers hook's");
  res = await request("POST", `EIO=4&transport=polling&sid=${sid}`, "40");
  t.same([res.status, res.body, res.headers["x-hooks"], res.headers["set-cookie"]],
    [200, "ok", "every", undefined], "the POST");
  res = await request("GET", `EIO=4&transport=polling&sid=${sid}`);
  t.check(res.status === 200 && res.body.startsWith("40{"), `the GET: ${res.status} ${res.body}`);
  t.same([res.headers["x-hooks"], res.headers["set-cookie"]], ["every", undefined], "the GET's headers");

  t.step("headers: the upgrade's 101 gets only the headers hook's");
  let ws = await websocket(`EIO=4&transport=websocket&sid=${sid}`);
  t.check(ws.open, `upgrade refused: ${ws.status} ${ws.body}`);
  t.same([ws.headers["x-hooks"], ws.headers["set-cookie"]], ["every", undefined], "the upgrade's 101");
  ws.ws.terminate();

  t.step("headers: a WebSocket handshake's 101 gets both");
  ws = await websocket("EIO=4&transport=websocket");
  t.check(ws.open, `handshake refused: ${ws.status} ${ws.body}`);
  t.same([ws.headers["x-hooks"], ws.headers["set-cookie"]], ["every", ["hooks=initial; Path=/"]], "the 101");
  ws.ws.terminate();
}

async function connectionErrors(socket) {
  t.step("connection_error: a bad sid and a bad transport");
  let res = await request("GET", "EIO=4&transport=polling&sid=bogus");
  t.same([res.status, res.body], [400, '{"code":1,"message":"Session ID unknown"}'], "bad sid");
  res = await request("GET", "EIO=4&transport=flash");
  t.same([res.status, res.body], [400, '{"code":0,"message":"Transport unknown"}'], "bad transport");

  t.step("connection_error: what the server heard");
  const wanted = {
    "sid=bogus": { code: 1, message: "Session ID unknown", context: { sid: "bogus" } },
    "transport=flash": { code: 0, message: "Transport unknown", context: { transport: "flash" } },
    "deny=plain": { code: 4, message: "Forbidden", context: { message: null } },
    "deny=nope": { code: 4, message: "Forbidden", context: { message: "nope" } },
  };
  const errors = await askUntil(socket, "errors?",
    (list) => Object.keys(wanted).every((k) => list.some((e) => e.url.includes(k))), "connection errors");
  for (const [k, expected] of Object.entries(wanted)) {
    const seen = errors.find((e) => e.url.includes(k));
    t.same({ code: seen.code, message: seen.message, context: seen.context }, expected, `connection_error for ${k}`);
  }
}

async function compression(socket) {
  const ws = socket.io.engine.transport.ws;
  t.check(ws && ws.extensions.includes("permessage-deflate"), "permessage-deflate not agreed");
  const tcp = ws._socket;
  for (const [compress, broadcast] of [[true, false], [false, false], [false, true]]) {
    t.step(`compress(${compress})${broadcast ? " on a broadcast" : ""}`);
    const read = tcp.bytesRead;
    const got = t.once(socket, "big");
    socket.emit("big", LONG, compress, broadcast);
    const [text] = await got;
    t.same(text.length, LONG, "the long message");
    const inbound = tcp.bytesRead - read;
    if (compress) t.check(inbound < LONG / 10, `compress(true): ${inbound} bytes on the wire`);
    else t.check(inbound > LONG, `compress(false): ${inbound} bytes on the wire: compressed`);
  }
}

async function disconnecting(main) {
  t.step("disconnecting: before disconnect, with the rooms");
  const socket = t.client("/", { transports: ["websocket"] });
  await t.connected(socket);
  t.same(await t.emitAck(socket, "join", "r1"), [2], "joined");
  const id = socket.id;
  socket.disconnect();
  const stages = await askUntil(main, "stages?", (list) => list.filter((s) => s.id === id).length === 2,
    "disconnect stages");
  const rooms = [id, "r1"].sort();
  t.same(stages.filter((s) => s.id === id), [
    // serde_json writes keys in order.
    { id, reason: "client namespace disconnect", rooms, stage: "disconnecting" },
    { id, reason: "client namespace disconnect", rooms, stage: "disconnect" },
  ], "stages");
}

async function cleanup(main) {
  t.step("cleanupEmptyChildNamespaces: a child lives while it has sockets");
  const child = t.client("/dyn-1", { transports: ["websocket"] });
  await t.connected(child);
  let [names] = await t.emitAck(main, "namespaces?");
  t.check(names.includes("/dyn-1"), `namespaces: ${names}`);
  child.disconnect();
  t.step("cleanupEmptyChildNamespaces: the emptied child is removed");
  await askUntil(main, "namespaces?", (list) => !list.includes("/dyn-1"), "child removed");
  t.step("cleanupEmptyChildNamespaces: and made again");
  const again = t.client("/dyn-1", { transports: ["websocket"] });
  await t.connected(again);
  [names] = await t.emitAck(main, "namespaces?");
  t.check(names.includes("/dyn-1"), `namespaces: ${names}`);
  again.close();
}

t.run(async () => {
  await allowRequest();
  await headers();

  t.step("transport: polling, then websocket with the upgrade event");
  const main = t.client("/");
  const first = t.once(main, "transport");
  const upgraded = t.once(main, "upgraded");
  await t.connected(main);
  t.same(await first, ["polling"], "transport at connection");
  t.same(await upgraded, ["websocket", "websocket"], "upgrade event and transport after it");
  await t.transportIs(main, "websocket");

  await connectionErrors(main);
  await compression(main);
  await disconnecting(main);
  await cleanup(main);
  main.close();
});
