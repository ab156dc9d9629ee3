// End-to-end check of the chat example with the official Node client.
//
// How to run it:
//
//   scripts/fetch-client                          # socket.io-client into ./node_modules
//   cargo run -p sio-tokio --example chat &       # the server on 127.0.0.1:3000
//   node runtime-tokio/examples/chat/check.js     # exits 0 when every check passes
//
// CHAT_URL points it at another server (default http://127.0.0.1:3000);
// JWT_SECRET must be the server's (it signs tokens with it, as the Node guide does).
// socket.io-client may also come from elsewhere: NODE_PATH=/some/dir/node_modules.
// No other client of the test users (Alice, Bob, Carol, Eve) may be connected:
// the welcome check counts their connections.
//
// What it checks: the page and the client bundle are served; /token issues
// tokens whose payload carries userId and refuses an empty name; connecting
// without a token is refused with "Authentication error: No token", with a
// bad or expired one with "Authentication error: Invalid token"; a token in
// the query string is accepted; then the Socket.IO basics guide's events,
// exactly (names, payload keys, error strings), with two users (one upgraded
// to WebSocket, one on polling only): message/response, broadcast/message,
// announce/announcement, chat/chat_response and its ack, join_room and
// user_joined, room_message/message, room_announce/announcement,
// leave_room and user_left (also on disconnect); a payload of the wrong
// shape gets an `error` event and the socket lives on; a second connection
// of a user is welcomed on both (room user:<userId>); the 11th `message`
// within a minute gets "Rate limit exceeded" and is dropped.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { io } = require('socket.io-client');

const BASE = process.env.CHAT_URL || 'http://127.0.0.1:3000';
// The server's secret, to forge an expired token (the server's default when unset).
const JWT_SECRET = process.env.JWT_SECRET || 'sio-chat-development-secret';
const WAIT_MS = 3000;
const QUIET_MS = 300;

const sockets = [];
let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok    ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL  ${name}\n      ${(err && err.stack) || err}`);
  }
}

/** The next `event` on `socket` (its first argument), or a rejection after WAIT_MS. */
function next(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no '${event}' within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const listener = (arg) => {
      clearTimeout(timer);
      resolve(arg);
    };
    socket.once(event, listener);
  });
}

/** Resolves if `event` does not come to `socket` within QUIET_MS. */
function none(socket, event) {
  return new Promise((resolve, reject) => {
    const listener = (arg) => reject(new Error(`unexpected '${event}': ${JSON.stringify(arg)}`));
    socket.on(event, listener);
    setTimeout(() => {
      socket.off(event, listener);
      resolve();
    }, QUIET_MS);
  });
}

function emitWithAck(socket, event, payload) {
  return socket.timeout(WAIT_MS).emitWithAck(event, payload);
}

/** An HS256 JWT signed with JWT_SECRET. */
function signToken(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  const signature = crypto.createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

async function getToken(user) {
  const response = await fetch(`${BASE}/token?user=${encodeURIComponent(user)}`);
  assert.equal(response.status, 200, `token for ${user}`);
  const body = await response.json();
  assert.equal(typeof body.token, 'string');
  return body.token;
}

/** A connected socket, or a rejection with the connect_error message. */
function connect(options) {
  const socket = io(BASE, { reconnection: false, forceNew: true, ...options });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

/** Connects with a token and waits for the server's welcome. */
async function connectUser(token, options = {}) {
  const socket = io(BASE, { reconnection: false, forceNew: true, auth: { token }, ...options });
  sockets.push(socket);
  const welcome = next(socket, 'welcome');
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return { socket, welcome: await welcome };
}

async function main() {
  await check('GET / serves the page, which loads /socket.io.min.js', async () => {
    const response = await fetch(`${BASE}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /text\/html/);
    const page = await response.text();
    assert.ok(page.includes("'/socket.io.min.js'"), 'page refers to the local bundle');
    assert.ok(page.includes('https://cdn.socket.io/4.8.1/socket.io.min.js'), 'page has the CDN fallback');
  });

  await check('GET /socket.io.min.js serves the client bundle', async () => {
    const response = await fetch(`${BASE}/socket.io.min.js`);
    assert.equal(response.status, 200, 'run scripts/fetch-client before starting the server');
    assert.match(response.headers.get('content-type'), /javascript/);
    assert.match(await response.text(), /Socket\.IO v4\.8\.1/);
  });

  await check('GET /token refuses a missing or empty user with 400', async () => {
    for (const query of ['', '?user=', '?user=%20%20']) {
      const response = await fetch(`${BASE}/token${query}`);
      assert.equal(response.status, 400, `/token${query}`);
      assert.equal(typeof (await response.json()).error, 'string');
    }
  });

  const aliceToken = await getToken('Alice');
  const bobToken = await getToken('Bob');
  const carolToken = await getToken('Carol');

  await check('no token: connect_error "Authentication error: No token"', async () => {
    await assert.rejects(connect({}), { message: 'Authentication error: No token' });
  });

  await check('bad token: connect_error "Authentication error: Invalid token"', async () => {
    await assert.rejects(connect({ auth: { token: 'not.a.jwt' } }), {
      message: 'Authentication error: Invalid token',
    });
    const tampered = aliceToken.slice(0, -2) + (aliceToken.endsWith('AA') ? 'BB' : 'AA');
    await assert.rejects(connect({ auth: { token: tampered } }), {
      message: 'Authentication error: Invalid token',
    });
  });

  await check('tokens carry userId; an expired one is an invalid token', async () => {
    const claims = JSON.parse(Buffer.from(aliceToken.split('.')[1], 'base64url').toString());
    assert.equal(claims.userId, 'alice');
    const now = Math.floor(Date.now() / 1000);
    // Signed the way the Node guide signs ({ userId } only): accepted.
    (await connect({ auth: { token: signToken({ userId: 'eve' }) } })).disconnect();
    const expired = signToken({ userId: 'eve', exp: now - 600 });
    await assert.rejects(connect({ auth: { token: expired } }), {
      message: 'Authentication error: Invalid token',
    });
  });

  await check('a token in the query string is accepted', async () => {
    const socket = await connect({ query: { token: carolToken } });
    socket.disconnect();
  });

  // Alice on the default transports (polling, then WebSocket); Bob on polling only.
  const alice = await connectUser(aliceToken);
  const bob = await connectUser(bobToken, { transports: ['polling'] });
  const a = alice.socket;
  const b = bob.socket;

  await check('welcome tells the user who they are', async () => {
    assert.deepEqual(alice.welcome, { socketId: a.id, userId: 'alice', name: 'Alice', connections: 1 });
    assert.equal(bob.welcome.userId, 'bob');
  });

  await check('Alice upgrades to WebSocket, Bob stays on polling', async () => {
    if (a.io.engine.transport.name !== 'websocket') await next(a.io.engine, 'upgrade');
    assert.equal(a.io.engine.transport.name, 'websocket');
    assert.equal(b.io.engine.transport.name, 'polling');
  });

  await check('message is answered with response {message: "Message received", data}', async () => {
    const response = next(a, 'response');
    const bobGetsNothing = none(b, 'response');
    a.emit('message', { text: 'ping' });
    assert.deepEqual(await response, { message: 'Message received', data: { text: 'ping' } });
    await bobGetsNothing;
  });

  await check('broadcast: message with the data to everyone but the sender', async () => {
    const bobGets = next(b, 'message');
    const aliceGetsNothing = none(a, 'message');
    a.emit('broadcast', { text: 'to all others' });
    assert.deepEqual(await bobGets, { text: 'to all others' });
    await aliceGetsNothing;
  });

  await check('announce: announcement with the data to everyone', async () => {
    const both = Promise.all([next(a, 'announcement'), next(b, 'announcement')]);
    b.emit('announce', 'to everyone');
    for (const got of await both) assert.equal(got, 'to everyone');
  });

  await check('chat: chat_response {status: "ok", echo}, and the same ack', async () => {
    const response = next(a, 'chat_response');
    assert.deepEqual(await emitWithAck(a, 'chat', { message: 'ack me' }), { status: 'ok', echo: 'ack me' });
    assert.deepEqual(await response, { status: 'ok', echo: 'ack me' });
  });

  await check('join_room: user_joined {socketId, roomId} to the others in the room', async () => {
    const aliceGetsNothing = none(a, 'user_joined');
    a.emit('join_room', 'lobby');
    await aliceGetsNothing;
    const aliceSeesBob = next(a, 'user_joined');
    const bobGetsNothing = none(b, 'user_joined');
    b.emit('join_room', 'lobby');
    assert.deepEqual(await aliceSeesBob, { socketId: b.id, roomId: 'lobby' });
    await bobGetsNothing;
  });

  await check('room_message: message {socketId, message} to the room but the sender', async () => {
    const bobGets = next(b, 'message');
    const aliceGetsNothing = none(a, 'message');
    a.emit('room_message', { roomId: 'lobby', message: 'hi Bob' });
    assert.deepEqual(await bobGets, { socketId: a.id, message: 'hi Bob' });
    await aliceGetsNothing;
  });

  await check('room_announce: announcement {socketId, message} to the whole room', async () => {
    const both = Promise.all([next(a, 'announcement'), next(b, 'announcement')]);
    b.emit('room_announce', { roomId: 'lobby', message: 'tea time' });
    for (const got of await both) assert.deepEqual(got, { socketId: b.id, message: 'tea time' });
  });

  await check('a payload of the wrong shape gets an error event, and the socket lives on', async () => {
    for (const [event, payload] of [['join_room', { roomId: 'lobby' }], ['chat', 'text'], ['room_message', 'lobby']]) {
      const error = next(a, 'error');
      a.emit(event, payload);
      const got = await error;
      assert.deepEqual(Object.keys(got), ['message'], event);
      assert.equal(typeof got.message, 'string', event);
    }
    assert.ok(a.connected);
  });

  await check('leave_room: user_left {socketId} to the others in the room', async () => {
    const bobSees = next(b, 'user_left');
    a.emit('leave_room', 'lobby');
    assert.deepEqual(await bobSees, { socketId: a.id });
  });

  await check('a second connection of a user is welcomed on every connection of that user', async () => {
    const firstTab = next(a, 'welcome');
    const second = await connectUser(aliceToken, { transports: ['websocket'] });
    assert.equal(second.welcome.connections, 2);
    assert.equal((await firstTab).socketId, second.socket.id);
    second.socket.disconnect();
  });

  await check('a socket that disconnects leaves its rooms with user_left', async () => {
    const joined = next(b, 'user_joined');
    a.emit('join_room', 'lobby');
    await joined;
    const aliceSees = next(a, 'user_left');
    const bobId = b.id;
    b.disconnect();
    assert.deepEqual(await aliceSees, { socketId: bobId });
  });

  await check('the 11th message within a minute gets "Rate limit exceeded" and is dropped', async () => {
    const { socket: carol } = await connectUser(carolToken);
    for (let i = 1; i <= 10; i += 1) {
      const response = next(carol, 'response');
      carol.emit('message', i);
      assert.deepEqual(await response, { message: 'Message received', data: i }, `message ${i}`);
    }
    const error = next(carol, 'error');
    const noResponse = none(carol, 'response');
    carol.emit('message', 11);
    assert.deepEqual(await error, { message: 'Rate limit exceeded' });
    await noResponse;
    // Only `message` is limited.
    assert.deepEqual(await emitWithAck(carol, 'chat', { message: 'still' }), { status: 'ok', echo: 'still' });
  });
}

main()
  .catch((err) => {
    failed += 1;
    console.log(`FAIL  setup\n      ${(err && err.stack) || err}`);
  })
  .finally(() => {
    for (const socket of sockets) socket.disconnect();
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  });
