// scripts/redis-services from Node: a 3-master Redis Cluster (`cluster`)
// or a TLS server with its private CA (`tls`), on free ports; stop()
// closes the script's stdin, which tears everything down.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");

const SCRIPT = path.join(__dirname, "..", "..", "scripts", "redis-services");

function startServices(kind) {
  const proc = spawn(SCRIPT, [kind], { stdio: ["pipe", "pipe", "inherit"] });
  const facts = { urls: [], ca: null, wrongCa: null };
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stdout });
    lines.on("line", (line) => {
      const [what, value] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)];
      if (what === "URL") facts.urls.push(value);
      else if (what === "CA") facts.ca = value;
      else if (what === "WRONG_CA") facts.wrongCa = value;
      else if (line === "READY") {
        resolve({
          ...facts,
          stop: () =>
            new Promise((done) => {
              proc.once("exit", done);
              proc.stdin.end();
            }),
        });
      }
    });
    proc.once("exit", (code) => reject(new Error(`redis-services ${kind} exited with ${code}`)));
  });
}

module.exports = { startServices };
