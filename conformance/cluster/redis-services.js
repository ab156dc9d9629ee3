// scripts/redis-services from Node: a 3-master Redis Cluster (`cluster`)
// or a TLS server with its private CA (`tls`), on free ports; stop()
// closes the script's stdin, which tears everything down.
"use strict";

const { spawn, execFileSync } = require("node:child_process");
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

/// Waits until `count` nodes have subscribed on the cluster whose masters
/// are `urls` (the request channel's subscribers, summed over the masters;
/// every adapter subscribes to its pattern before, on the same connection
/// for Node's, and awaited for sio's): a server says it listens before its
/// adapter's subscriptions are made, and on a cluster they take longer
/// than a first broadcast. (PUBSUB NUMPAT counts distinct patterns, not
/// subscribers: no use here.)
async function waitForSubscriptions(urls, count, key = "socket.io", sharded = false) {
  const sum = (args) =>
    urls
      .map((url) => execFileSync("redis-cli", ["-u", url, ...args], { encoding: "utf8" }))
      .map((out) => Number(out.trim().split("\n").pop()))
      .reduce((a, b) => a + b, 0);
  for (let i = 0; i < 200; i++) {
    // The sharded adapter counts its nodes on the namespace's shard channel.
    const counted = sharded ? ["pubsub", "shardnumsub", `${key}#/#`] : ["pubsub", "numsub", `${key}-request#/#`];
    if (sum(counted) >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the ${count} nodes did not all subscribe on the cluster`);
}

/// Waits until `count` clients subscribe to shard channel `channel` (summed
/// over the masters: it lives on its slot's master).
async function waitForShardChannel(urls, channel, count) {
  const sum = () =>
    urls
      .map((url) => execFileSync("redis-cli", ["-u", url, "pubsub", "shardnumsub", channel], { encoding: "utf8" }))
      .map((out) => Number(out.trim().split("\n").pop()))
      .reduce((a, b) => a + b, 0);
  for (let i = 0; i < 200; i++) {
    if (sum() >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${channel} has not ${count} subscribers`);
}

module.exports = { startServices, waitForSubscriptions, waitForShardChannel };
