// The Admin UI across a mixed cluster: its own redis-server, three nodes
// (sio and Node, chosen by --servers) started with ADMIN_UI=1, so each
// serves the UI's protocol under its own serverId. A client connects to
// each node; an admin (socket.io-client speaking the UI's protocol, as the
// UI does) logs in to the first node and must see every node's
// server_stats and, in all_sockets, the clients of all three.
//
// With --browser DIR, the UI's own page (its static build, served locally)
// in headless Chromium then logs in to the first node and must list every
// node on its Servers page and every client on its Sockets page; its
// screenshots go to DIR.
//
// Usage: node admin-run.js [--servers sio-tokio,node,sio-tokio] [--sio-bin PATH] [--browser DIR]
// Needs redis-server (scripts/install-redis) and `npm ci` in conformance/.
"use strict";

const path = require("node:path");
const { io } = require("socket.io-client");
const { Redis, freePort } = require("./redis-server");
const { defaultSioBin, startServer } = require("./nodes");

/// What the nodes of this run are started with.
const ADMIN_ENV = { ADMIN_UI: "1" };

const WAIT_MS = 10000;

function args() {
  const argv = process.argv.slice(2);
  const opts = { servers: ["sio-tokio", "node", "sio-tokio"], sioBin: null, browser: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--servers") opts.servers = argv[++i].split(",");
    else if (argv[i] === "--sio-bin") opts.sioBin = argv[++i];
    else if (argv[i] === "--browser") opts.browser = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!opts.sioBin) opts.sioBin = defaultSioBin();
  return opts;
}

// Resolves once `test()` holds, checked whenever `socket` gets `event`.
function until(socket, event, test, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS} ms`)), WAIT_MS);
    const check = () => {
      const value = test();
      if (!value) return;
      clearTimeout(timer);
      socket.off(event, check);
      resolve(value);
    };
    socket.on(event, check);
    check();
  });
}

// The UI's page, logged in to `url`: every node on the Servers page, every
// client on the Sockets page.
async function browserCheck(opts, url, names, clients) {
  const fs = require("node:fs");
  const page = require("../clients/admin-ui-page");
  fs.mkdirSync(opts.browser, { recursive: true });
  const ui = await page.serveUi();
  const uiUrl = `http://127.0.0.1:${ui.address().port}/`;
  const browser = await page.launch();
  const label = opts.servers.join("-");
  try {
    await page.login(browser.page, uiUrl, url, "admin", "sio-admin-test");
    for (const [route, wanted, what] of [["servers", names, "every node"], ["sockets", clients, "every client"]]) {
      await browser.page.goto(`${uiUrl}#/${route}/`);
      await page.waitForPage(browser.page, `${what}: ${wanted.join(", ")}`, new Function(
        `const text = document.body.innerText;
         return ${JSON.stringify(wanted)}.every((w) => text.includes(w));`));
      const file = path.resolve(opts.browser, `admin-ui-cluster-${label}-${route}.png`);
      console.log(`ARTIFACT ${await page.screenshot(browser.page, file)}`);
    }
    console.log("the UI's page lists every node and every client");
  } finally {
    await browser.close();
    ui.close();
  }
}

async function main() {
  const opts = args();
  const redis = new Redis(await freePort());
  await redis.start();
  const procs = [];
  const sockets = [];
  try {
    const urls = [];
    const names = [];
    for (const [i, kind] of opts.servers.entries()) {
      const port = await freePort();
      const name = `${kind}-${i}`;
      procs.push(await startServer(kind, port, redis.url, name, opts.sioBin, ADMIN_ENV));
      urls.push(`http://127.0.0.1:${port}`);
      names.push(name);
    }
    console.log(`admin cluster: ${opts.servers.join(", ")} on ${redis.url}`);
    const clients = [];
    for (const [i, url] of urls.entries()) {
      const client = io(url, { forceNew: true, reconnection: false, auth: { name: `user-${i}` } });
      sockets.push(client);
      await new Promise((resolve, reject) => {
        client.once("connect", resolve);
        client.once("connect_error", reject);
      });
      clients.push(client.id);
    }
    const admin = io(`${urls[0]}/admin`, {
      forceNew: true, reconnection: false, auth: { username: "admin", password: "sio-admin-test" },
    });
    sockets.push(admin);
    const stats = new Map();
    let all = null;
    admin.on("server_stats", (s) => { stats.set(s.serverId, s); });
    admin.on("all_sockets", (list) => { all = list; });
    await until(admin, "server_stats", () => names.every((n) => stats.has(n)),
      `server_stats of ${names.join(", ")} (seen: ${[...stats.keys()].join(", ")})`);
    await until(admin, "all_sockets", () => all, "all_sockets");
    const listed = all.filter((s) => s.nsp === "/").map((s) => s.id);
    const missing = clients.filter((id) => !listed.includes(id));
    if (missing.length) throw new Error(`all_sockets lacks ${missing.join(", ")}: it lists ${listed.join(", ")}`);
    for (const name of names) {
      const own = stats.get(name).namespaces.find((n) => n.name === "/");
      if (!own || own.socketsCount !== 1) {
        throw new Error(`${name}'s server_stats: ${JSON.stringify(stats.get(name).namespaces)}`);
      }
    }
    console.log(`every node's stats (${names.join(", ")}) and all ${clients.length} clients listed`);
    if (opts.browser) await browserCheck(opts, urls[0], names, clients);
    console.log("1 passed, 0 failed");
  } catch (error) {
    console.log(`FAIL: ${error.message}`);
    console.log("0 passed, 1 failed");
    process.exitCode = 1;
  } finally {
    for (const s of sockets) s.close();
    for (const p of procs) p.kill("SIGKILL");
    await redis.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
