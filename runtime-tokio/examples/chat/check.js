// End-to-end check of the chat example with the official Node client.
//
// How to run it:
//
//   scripts/fetch-client                          # socket.io-client into ./node_modules
//   cargo run -p sio-tokio --example chat &       # the server on 127.0.0.1:3000
//   node runtime-tokio/examples/chat/check.js     # exits 0 when every check passes
//
// CHAT_URL points it at another server (default http://127.0.0.1:3000);
// JWT_SECRET must be the server's (it forges an expired token with it).
// socket.io-client may also come from elsewhere: NODE_PATH=/some/dir/node_modules.
// No other client of the test users (Alice, Bob, Carol, Eve) may be connected:
// the welcome check counts their connections.
//
// What it checks: the page and the client bundle are served; /token issues
// tokens and refuses an empty name; missing, bad and expired tokens are
// refused with "Authentication error: ..."; a token in the query string is
// accepted; two users (one upgraded to WebSocket, one on polling only) join a
// room and exchange room messages and announcements; message/response,
// broadcast, announce, the `chat` ack; user_joined/user_left (also on
// disconnect); a payload of the wrong shape gets an `error` event; a second
// connection of a user is welcomed on both; the 11th event within a minute
// gets "Rate limit exceeded".
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

  await check('no token: connect_error "Authentication error: missing token"', async () => {
    await assert.rejects(connect({}), { message: 'Authentication error: missing token' });
  });

  await check('bad token: connect_error "Authentication error: invalid token"', async () => {
    await assert.rejects(connect({ auth: { token: 'not.a.jwt' } }), {
      message: 'Authentication error: invalid token',
    });
    const tampered = aliceToken.slice(0, -2) + (aliceToken.endsWith('AA') ? 'BB' : 'AA');
    await assert.rejects(connect({ auth: { token: tampered } }), {
      message: 'Authentication error: invalid token',
    });
  });

  await check('expired token: connect_error "Authentication error: token expired"', async () => {
    const now = Math.floor(Date.now() / 1000);
    // Forged the way /token signs: the signature is right, so only the expiry refuses it.
    const fresh = signToken({ sub: 'eve', name: 'Eve', exp: now + 600 });
    (await connect({ auth: { token: fresh } })).disconnect();
    const expired = signToken({ sub: 'eve', name: 'Eve', exp: now - 600 });
    await assert.rejects(connect({ auth: { token: expired } }), {
      message: 'Authentication error: token expired',
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

  await check('join_room: ack, and user_joined to the room', async () => {
    const aliceSeesHerself = next(a, 'user_joined');
    assert.deepEqual(await emitWithAck(a, 'join_room', { roomId: 'lobby' }), { status: 'ok', roomId: 'lobby' });
    assert.deepEqual(await aliceSeesHerself, { userId: 'alice', name: 'Alice', roomId: 'lobby' });
    const aliceSeesBob = next(a, 'user_joined');
    assert.deepEqual(await emitWithAck(b, 'join_room', { roomId: 'lobby' }), { status: 'ok', roomId: 'lobby' });
    assert.deepEqual(await aliceSeesBob, { userId: 'bob', name: 'Bob', roomId: 'lobby' });
  });

  await check('room_message reaches the room but not the sender', async () => {
    const bobGets = next(b, 'message');
    const aliceGetsNothing = none(a, 'message');
    assert.deepEqual(await emitWithAck(a, 'room_message', { roomId: 'lobby', message: 'hi Bob' }), { status: 'ok' });
    assert.deepEqual(await bobGets, {
      socketId: a.id, userId: 'alice', name: 'Alice', message: 'hi Bob', roomId: 'lobby',
    });
    await aliceGetsNothing;
    const aliceGets = next(a, 'message');
    b.emit('room_message', { roomId: 'lobby', message: 'hello Alice' });
    assert.equal((await aliceGets).message, 'hello Alice');
  });

  await check('room_announce reaches the whole room, the sender included', async () => {
    const both = Promise.all([next(a, 'room_announcement'), next(b, 'room_announcement')]);
    b.emit('room_announce', { roomId: 'lobby', message: 'tea time' });
    const [toAlice, toBob] = await both;
    assert.deepEqual(toAlice, { socketId: b.id, userId: 'bob', name: 'Bob', message: 'tea time', roomId: 'lobby' });
    assert.deepEqual(toBob, toAlice);
  });

  await check('chat is acknowledged with {status: "ok", echo}', async () => {
    assert.deepEqual(await emitWithAck(a, 'chat', { message: 'ack me' }), { status: 'ok', echo: 'ack me' });
  });

  await check('message is answered with response {echo, from}', async () => {
    const response = next(a, 'response');
    a.emit('message', { text: 'ping' });
    assert.deepEqual(await response, { echo: { text: 'ping' }, from: 'Alice' });
  });

  await check('broadcast goes to everyone but the sender; announce to everyone', async () => {
    const bobGets = next(b, 'broadcast');
    const aliceGetsNothing = none(a, 'broadcast');
    a.emit('broadcast', 'to all others');
    assert.deepEqual(await bobGets, { userId: 'alice', name: 'Alice', message: 'to all others' });
    await aliceGetsNothing;
    const both = Promise.all([next(a, 'announcement'), next(b, 'announcement')]);
    b.emit('announce', 'to everyone');
    for (const got of await both) assert.deepEqual(got, { userId: 'bob', name: 'Bob', message: 'to everyone' });
  });

  await check('a payload of the wrong shape gets an error event, and the socket lives on', async () => {
    const error = next(a, 'error');
    a.emit('join_room', 'lobby'); // a string, not {roomId}
    assert.match((await error).message, /invalid payload for 'join_room'/);
    const notInRoom = next(a, 'error');
    a.emit('room_message', { roomId: 'elsewhere', message: 'x' });
    assert.equal((await notInRoom).message, "join room 'elsewhere' first");
    assert.ok(a.connected);
  });

  await check('leave_room: ack, and user_left to those still in the room', async () => {
    const bobSees = next(b, 'user_left');
    assert.deepEqual(await emitWithAck(a, 'leave_room', { roomId: 'lobby' }), { status: 'ok', roomId: 'lobby' });
    assert.deepEqual(await bobSees, { userId: 'alice', name: 'Alice', roomId: 'lobby' });
  });

  await check('a second connection of a user is welcomed on every connection of that user', async () => {
    const firstTab = next(a, 'welcome');
    const second = await connectUser(aliceToken, { transports: ['websocket'] });
    assert.equal(second.welcome.connections, 2);
    assert.equal((await firstTab).socketId, second.socket.id);
    second.socket.disconnect();
  });

  await check('a socket that disconnects leaves its rooms with user_left', async () => {
    assert.deepEqual(await emitWithAck(a, 'join_room', { roomId: 'lobby' }), { status: 'ok', roomId: 'lobby' });
    const aliceSees = next(a, 'user_left');
    b.disconnect();
    assert.deepEqual(await aliceSees, { userId: 'bob', name: 'Bob', roomId: 'lobby' });
  });

  await check('the 11th event within a minute gets "Rate limit exceeded" and is not processed', async () => {
    const { socket: carol } = await connectUser(carolToken);
    for (let i = 1; i <= 10; i += 1) {
      const response = next(carol, 'response');
      carol.emit('message', i);
      assert.deepEqual(await response, { echo: i, from: 'Carol' }, `message ${i}`);
    }
    const error = next(carol, 'error');
    const noResponse = none(carol, 'response');
    carol.emit('message', 11);
    assert.deepEqual(await error, { message: 'Rate limit exceeded' });
    await noResponse;
    // Every chat event counts, acked ones too: the ack never comes.
    const chatError = next(carol, 'error');
    await assert.rejects(emitWithAck(carol, 'chat', { message: 'late' }));
    assert.deepEqual(await chatError, { message: 'Rate limit exceeded' });
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
