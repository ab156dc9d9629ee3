// Starting the cluster's servers, for run.js, recovery-run.js, close-run.js
// and admin-run.js: a Node server (node-server.js) or the sio
// cluster-server binary on one runtime, each announcing `LISTENING <port>`
// on its stdout once it serves.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");

/// The cluster-server binary conformance/build makes (in CARGO_TARGET_DIR,
/// or the repository's target/).
function defaultSioBin() {
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, "../../target");
  return path.join(target, "debug/cluster-server");
}

/// Starts node `kind` ("node" or "sio-<runtime>") on `port`, with `env`
/// added to this process's environment, and waits for its LISTENING line.
/// The process remembers its `kind`.
function startServer(kind, port, redisUrl, name, sioBin, env = {}) {
  const args = [String(port), redisUrl, name];
  const options = { env: { ...process.env, ...env } };
  let proc;
  if (kind === "node") {
    proc = spawn(process.execPath, [path.join(__dirname, "node-server.js"), ...args], options);
  } else if (kind.startsWith("sio-")) {
    proc = spawn(sioBin, [kind.slice(4), ...args], options);
  } else {
    throw new Error(`unknown server kind ${kind}`);
  }
  proc.kind = kind;
  proc.stderr.on("data", (d) => process.stderr.write(`[${name}] ${d}`));
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      if (out.includes(`LISTENING ${port}`)) resolve(proc);
    });
    proc.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
    proc.once("error", (error) => reject(new Error(`${name}: ${error.message}`)));
  });
}

module.exports = { defaultSioBin, startServer };
