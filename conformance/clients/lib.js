"use strict";
// Shared helpers of the client scripts. A script calls `run(async () => ...)`;
// any thrown error fails it with the current step's name. Output protocol
// (read by the runner): `FAIL: <reason>` on failure, `NOTE <text>` for
// observations worth showing even when the scenario passes, `ARTIFACT <path>`
// for a file worth looking at (a screenshot), and `RESTART` to have the
// runner restart the server on the same port; the runner answers on stdin
// with `RESTARTED` once the new server listens (or `RESTART-FAILED <why>`).
const { io, Manager } = require("socket.io-client");

const url = process.argv[2];
if (!url) {
  console.log("FAIL: usage: node <script> <server url>");
  process.exit(2);
}

const HARD_TIMEOUT_MS = Number(process.env.CLIENT_TIMEOUT_MS || 15000);
const WAIT_MS = 5000;
let currentStep = "start";
let finished = false;

function fail(reason) {
  if (finished) return;
  finished = true;
  console.log(`FAIL: ${reason}`);
  process.exit(1);
}

const hardTimer = setTimeout(
  () => fail(`${currentStep}: script timed out after ${HARD_TIMEOUT_MS} ms`),
  HARD_TIMEOUT_MS,
);

process.on("uncaughtException", (e) => fail(`${currentStep}: uncaught ${e && e.stack ? e.stack : e}`));
process.on("unhandledRejection", (e) => fail(`${currentStep}: unhandled rejection ${e && e.message ? e.message : e}`));

function step(name) {
  currentStep = name;
}

function note(text) {
  console.log(`NOTE ${text}`);
}

function run(main) {
  main().then(
    () => {
      finished = true;
      clearTimeout(hardTimer);
      process.exit(0);
    },
    (e) => fail(`${currentStep}: ${e && e.message ? e.message : e}`),
  );
}

function check(condition, what) {
  if (!condition) throw new Error(what);
}

// Canonical text of a value: exact JSON (key order kept), binary as bin(hex)
// whatever its container type (Buffer, ArrayBuffer, typed array).
function canon(v) {
  if (Buffer.isBuffer(v)) return `bin(${v.toString("hex")})`;
  if (v instanceof ArrayBuffer) return canon(Buffer.from(v));
  if (ArrayBuffer.isView(v)) return canon(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (typeof v === "function") return "function";
  if (v === undefined) return "undefined";
  if (v !== null && typeof v === "object") {
    return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

function short(text) {
  return text.length > 300 ? `${text.slice(0, 300)}... (${text.length} chars)` : text;
}

function same(actual, expected, what) {
  const a = canon(actual);
  const e = canon(expected);
  if (a !== e) throw new Error(`${what}: expected ${short(e)}, got ${short(a)}`);
}

// Resolves with the arguments of the next `event` on `emitter`.
function once(emitter, event, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const listener = (...args) => {
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

// Resolves once `predicate()` holds, checking it whenever `event` fires;
// `what` (text, or a function giving it) names the wait in the error.
function until(emitter, event, predicate, what, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      const label = typeof what === "function" ? what() : what;
      reject(new Error(`${label}: not reached within ${ms} ms`));
    }, ms);
    const listener = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve();
    };
    emitter.on(event, listener);
  });
}

// A client of its own (no shared Manager), without reconnection.
function client(nsp = "/", opts = {}) {
  return io(url + nsp, { forceNew: true, reconnection: false, ...opts });
}

function manager(opts = {}) {
  return new Manager(url, { reconnection: false, ...opts });
}

// Resolves when `socket` connects; rejects on connect_error.
function connected(socket, ms = WAIT_MS) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not connected within ${ms} ms`)), ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(new Error(`connect_error: ${err && err.message}`));
    });
  });
}

// Resolves with the error of the next connect_error; rejects on connect.
function connectError(socket, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect_error within ${ms} ms`)), ms);
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      resolve(err);
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      reject(new Error("connected, expected a connect_error"));
    });
  });
}

// Emits with an ack callback; resolves with every argument of the ack.
function emitAck(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(WAIT_MS).emit(event, ...args, (err, ...reply) => {
      if (err) reject(new Error(`no ack for "${event}" within ${WAIT_MS} ms`));
      else resolve(reply);
    });
  });
}

// Waits until the engine runs on `name` (after an upgrade, say).
function transportIs(socket, name, ms = WAIT_MS) {
  const engine = socket.io.engine;
  return until(engine, "upgrade", () => engine.transport && engine.transport.name === name,
    `transport ${name}`, ms);
}

// Lines the runner writes on stdin, read once a script first asks for one.
let stdinLines = null;
const stdinWaiters = [];

function nextStdinLine(ms) {
  if (!stdinLines) {
    stdinLines = [];
    const rl = require("readline").createInterface({ input: process.stdin });
    rl.on("line", (line) => {
      const waiter = stdinWaiters.shift();
      if (waiter) waiter(line);
      else stdinLines.push(line);
    });
  }
  if (stdinLines.length > 0) return Promise.resolve(stdinLines.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner did not answer within ${ms} ms`)), ms);
    stdinWaiters.push((line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
}

// Has the runner kill the server and start a new one on the same port;
// resolves once the new one listens.
async function restartServer(ms = 2 * WAIT_MS) {
  console.log("RESTART");
  const answer = await nextStdinLine(ms);
  if (answer !== "RESTARTED") throw new Error(`server restart: runner answered ${JSON.stringify(answer)}`);
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = {
  url, run, step, note, check, same, canon, once, until, client, manager,
  connected, connectError, emitAck, transportIs, delay, fail, restartServer, WAIT_MS,
};
