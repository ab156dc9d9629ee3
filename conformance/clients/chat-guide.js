"use strict";
// The chat example's contract (issue 21), row by row, as a client written
// for the Node version of the Socket.IO basics guide sees it: the guide's
// event names, payload keys and error strings, exactly.
//
//   node clients/chat-guide.js <chat url> <websocket|polling|upgrade>
//
// `websocket`: transports ["websocket"]; `polling`: ["polling"] (and no
// upgrade may happen); `upgrade`: the default, polling then WebSocket (every
// client upgraded before the rows run). Environment: JWT_SECRET (the chat's,
// to sign tokens the Node way), CHAT_RATE_WINDOW_MS (the chat's rate window,
// shortened by the runner; the limit is the guide's 10).
//
// Every client records every event it gets. After each action, the actor
// and then every client make a `chat` round trip (handlers run in arrival
// order, so by then everything the action sent is in), and each client's
// record must be exactly what the row says: nothing missing, nothing more.
const crypto = require("node:crypto");
const t = require("./lib");

const mode = process.argv[3];
const SECRET = process.env.JWT_SECRET || "sio-chat-development-secret";
const WINDOW_MS = Number(process.env.CHAT_RATE_WINDOW_MS || 60000);
const LIMIT = 10;
const TRANSPORTS = { websocket: ["websocket"], polling: ["polling"], upgrade: ["polling", "websocket"] };
const FINAL = { websocket: "websocket", polling: "polling", upgrade: "websocket" };
const SYNC = "sync";

// An HS256 JWT of `claims` signed with `secret` (as jsonwebtoken.sign does).
function sign(claims, secret = SECRET) {
  const part = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${unsigned}.${crypto.createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

async function token(user) {
  const response = await fetch(`${t.url}/token?user=${encodeURIComponent(user)}`);
  t.same(response.status, 200, `GET /token?user=${user}: status`);
  const body = await response.json();
  t.same(Object.keys(body), ["token"], "GET /token: keys");
  const claims = JSON.parse(Buffer.from(body.token.split(".")[1], "base64url").toString());
  t.check(typeof claims.userId === "string" && claims.userId.length > 0,
    `token payload has no userId: ${JSON.stringify(claims)}`);
  return { token: body.token, userId: claims.userId };
}

function options(extra) {
  return { transports: TRANSPORTS[mode], ...extra };
}

// A connected client recording what it gets (`inbox`: [event, ...args]).
async function user(name, auth) {
  const socket = t.client("/", options({ auth }));
  socket.inbox = [];
  socket.label = name;
  // The chat has connection state recovery on: the server appends an offset
  // to every event (none of its events waits for an ack), which
  // socket.io-client records (`_pid` is set when the server sent one); the
  // guide's contract is the arguments before it.
  socket.onAny((event, ...args) => {
    if (socket._pid && typeof args[args.length - 1] === "string") args.pop();
    socket.inbox.push([event, ...args]);
  });
  await t.connected(socket);
  if (mode === "upgrade") await t.transportIs(socket, "websocket");
  return socket;
}

// `chat` with an ack: resolves with the ack's arguments.
function chat(socket, message) {
  return t.emitAck(socket, "chat", { message });
}

// The actor's events are handled, then everyone's record is complete.
async function settle(actor, everyone) {
  if (actor) await chat(actor, SYNC);
  await Promise.all(everyone.map((s) => chat(s, SYNC)));
  for (const s of everyone) {
    s.inbox = s.inbox.filter(([event, arg]) =>
      !(event === "chat_response" && arg && arg.echo === SYNC) && event !== "welcome");
  }
}

// What each client got since the last check, exactly; clears the records.
function expect(everyone, wanted, what) {
  for (const s of everyone) {
    t.same(s.inbox, wanted.get(s) || [], `${what}: events at ${s.label}`);
    s.inbox = [];
  }
}

function refused(auth, query) {
  const socket = t.client("/", options({ auth, query }));
  return t.connectError(socket).finally(() => socket.disconnect());
}

t.run(async () => {
  t.check(TRANSPORTS[mode], `mode ${mode}: expected websocket, polling or upgrade`);

  t.step("GET /token");
  const alice = await token("alice");
  const bob = await token("bob");
  const carol = await token("carol");

  t.step("connect: no token");
  t.same((await refused(undefined, undefined)).message, "Authentication error: No token", "no token");
  t.same((await refused({}, undefined)).message, "Authentication error: No token", "empty auth");

  t.step("connect: invalid tokens");
  const invalid = "Authentication error: Invalid token";
  t.same((await refused({ token: "not.a.jwt" })).message, invalid, "garbage token");
  t.same((await refused({ token: sign({ userId: "alice" }, "another secret") })).message, invalid,
    "token of another secret");
  const now = Math.floor(Date.now() / 1000);
  t.same((await refused({ token: sign({ userId: "alice", exp: now - 60 }) })).message, invalid, "expired token");
  t.same((await refused(undefined, { token: "not.a.jwt" })).message, invalid, "garbage token in the query");

  t.step("connect: a token in the query, and the room user:<userId>");
  const a = await user("A", { token: alice.token });
  const viaQuery = t.client("/", options({ query: { token: alice.token } }));
  await t.connected(viaQuery);
  // The welcome goes to user:<userId>: A hears of the second connection of its user.
  await t.until(a, "welcome",
    () => a.inbox.some(([event, arg]) => event === "welcome" && arg.socketId === viaQuery.id),
    () => `A's welcome of the connection with the token in the query (A got ${JSON.stringify(a.inbox)})`);
  viaQuery.disconnect();

  t.step("connect: a token signed the Node way ({ userId } only)");
  const d = await user("D", { token: sign({ userId: "dave" }) });

  const b = await user("B", { token: bob.token });
  const c = await user("C", { token: carol.token });
  const all = [a, b, c, d];
  await settle(null, all);
  expect(all, new Map(), "after connecting");

  t.step("message -> response to the sender");
  a.emit("message", { text: "hello", n: [1, 2.5, null, true] });
  await settle(a, all);
  expect(all, new Map([[a, [["response", { message: "Message received", data: { text: "hello", n: [1, 2.5, null, true] } }]]]]),
    "message");
  a.emit("message", "plain");
  await settle(a, all);
  expect(all, new Map([[a, [["response", { message: "Message received", data: "plain" }]]]]), "message (a string)");

  t.step("broadcast -> message to everyone but the sender");
  const data = { text: "to the others", list: ["x", 1] };
  a.emit("broadcast", data);
  await settle(a, all);
  expect(all, new Map([b, c, d].map((s) => [s, [["message", data]]])), "broadcast");

  t.step("announce -> announcement to everyone");
  b.emit("announce", "hear ye");
  await settle(b, all);
  expect(all, new Map(all.map((s) => [s, [["announcement", "hear ye"]]])), "announce");

  t.step("chat -> chat_response, and the ack");
  t.same(await chat(c, "hi"), [{ status: "ok", echo: "hi" }], "chat ack");
  c.emit("chat", { message: "no ack" });
  await settle(c, all);
  expect(all, new Map([[c, [["chat_response", { status: "ok", echo: "hi" }], ["chat_response", { status: "ok", echo: "no ack" }]]]]),
    "chat");

  t.step("join_room -> user_joined to the others in the room");
  a.emit("join_room", "r1");
  await settle(a, all);
  expect(all, new Map(), "A joins r1 (alone)");
  b.emit("join_room", "r1");
  await settle(b, all);
  expect(all, new Map([[a, [["user_joined", { socketId: b.id, roomId: "r1" }]]]]), "B joins r1");

  t.step("room_message -> message to the room but the sender");
  a.emit("room_message", { roomId: "r1", message: "hi room" });
  await settle(a, all);
  expect(all, new Map([[b, [["message", { socketId: a.id, message: "hi room" }]]]]), "room_message");

  t.step("room_announce -> announcement to the whole room");
  b.emit("room_announce", { roomId: "r1", message: "room news" });
  await settle(b, all);
  const news = ["announcement", { socketId: b.id, message: "room news" }];
  expect(all, new Map([[a, [news]], [b, [news]]]), "room_announce");

  t.step("leave_room -> user_left to the others in the room");
  c.emit("join_room", "r1");
  await settle(c, all);
  const cJoined = ["user_joined", { socketId: c.id, roomId: "r1" }];
  expect(all, new Map([[a, [cJoined]], [b, [cJoined]]]), "C joins r1");
  b.emit("leave_room", "r1");
  await settle(b, all);
  const bLeft = ["user_left", { socketId: b.id }];
  expect(all, new Map([[a, [bLeft]], [c, [bLeft]]]), "B leaves r1");
  a.emit("room_message", { roomId: "r1", message: "after B left" });
  await settle(a, all);
  expect(all, new Map([[c, [["message", { socketId: a.id, message: "after B left" }]]]]), "room_message after B left");

  t.step("a handler fails -> error to the sender, the connection stays up");
  const wrong = [
    ["join_room", { roomId: "r1" }],
    ["leave_room", 42],
    ["chat", "not an object"],
    ["room_message", "r1"],
    ["room_announce", { message: "no room" }],
  ];
  for (const [event, payload] of wrong) {
    b.emit(event, payload);
    await settle(b, all);
    t.same(all.map((s) => s.inbox.map(([name]) => name)), [[], ["error"], [], []], `${event} with ${JSON.stringify(payload)}`);
    const [, error] = b.inbox[0];
    t.same(Object.keys(error), ["message"], `${event}: error's keys`);
    t.check(typeof error.message === "string" && error.message.length > 0, `${event}: error message ${JSON.stringify(error)}`);
    b.inbox = [];
    t.check(b.connected, `B disconnected after ${event}`);
  }
  b.emit("message", "still here");
  await settle(b, all);
  expect(all, new Map([[b, [["response", { message: "Message received", data: "still here" }]]]]), "B after the failures");

  t.step(`rate limit: the ${LIMIT + 1}th message within the window`);
  const everyone = all;
  const started = Date.now();
  for (let i = 1; i <= LIMIT; i += 1) d.emit("message", i);
  d.emit("message", LIMIT + 1);
  await settle(d, everyone);
  const elapsed = Date.now() - started;
  t.check(elapsed < WINDOW_MS, `the ${LIMIT + 1} messages took ${elapsed} ms, longer than the window (${WINDOW_MS} ms)`);
  const responses = [];
  for (let i = 1; i <= LIMIT; i += 1) responses.push(["response", { message: "Message received", data: i }]);
  expect(everyone, new Map([[d, [...responses, ["error", { message: "Rate limit exceeded" }]]]]), "rate limit");
  t.step("rate limit: other events are not limited");
  d.emit("broadcast", "not limited");
  await settle(d, everyone);
  expect(everyone, new Map([a, b, c].map((s) => [s, [["message", "not limited"]]])), "broadcast past the limit");
  if (WINDOW_MS <= 10000) {
    t.step("rate limit: the window slides");
    await t.delay(WINDOW_MS - (Date.now() - started) + 200);
    d.emit("message", "later");
    await settle(d, everyone);
    expect(everyone, new Map([[d, [["response", { message: "Message received", data: "later" }]]]]), "after the window");
  } else {
    t.note(`window ${WINDOW_MS} ms: not waiting for it to slide`);
  }

  t.step("transports at the end");
  for (const s of everyone) {
    t.check(s.connected, `${s.label} disconnected`);
    t.same(s.io.engine.transport.name, FINAL[mode], `${s.label}'s transport`);
  }
  for (const s of everyone) s.disconnect();
});
