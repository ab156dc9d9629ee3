// A redis-server of the tests' own on a loopback port, and a free port
// to put it (or anything else) on: shared by run.js and
// ../adapter-capture/capture.js. Needs redis-server on PATH.
"use strict";

const { spawn } = require("node:child_process");
const net = require("node:net");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

/// A redis-server of our own (no persistence); kill() and start() again
/// on the same port.
class Redis {
  constructor(port) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.proc = null;
  }

  async start() {
    this.proc = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1",
      "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    for (let i = 0; i < 500; i++) {
      if (await canConnect(this.port)) return;
      await sleep(20);
    }
    throw new Error("redis-server did not start");
  }

  async kill() {
    if (!this.proc) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGKILL");
    await exited;
    this.proc = null;
  }
}

module.exports = { Redis, freePort };
