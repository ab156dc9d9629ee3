"use strict";
// compression-browser: headless Chromium (Debian's, driven by
// playwright-core, flags as in browser-chat.js) speaks Engine.IO by hand
// from a page of the server's origin, with the browser's own WebSocket and
// fetch: they offer permessage-deflate and send Accept-Encoding as on any
// site. The server (perMessageDeflate on, httpCompression by default) must
// agree the extension (`WebSocket.extensions`) and deliver long messages
// intact both ways, and compress a large polling response in a coding the
// browser decodes.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const t = require("./lib");

const CHROMIUM = process.env.SIO_CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// Runs in the page: a WebSocket session, a long message each way.
async function inPageWebSocket(long) {
  const url = `${location.origin.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url);
  const queue = [];
  let wake = null;
  ws.onmessage = (e) => { queue.push(e.data); if (wake) wake(); };
  const next = async (prefix) => {
    for (;;) {
      const at = queue.findIndex((m) => typeof m === "string" && m.startsWith(prefix));
      if (at >= 0) return queue.splice(at, 1)[0];
      await new Promise((resolve, reject) => {
        wake = resolve;
        setTimeout(() => reject(new Error(`no message starting ${prefix}`)), 5000);
      });
    }
  };
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("WebSocket error")); });
  await next("0{");
  ws.send("40");
  await next("40");
  ws.send(`42${JSON.stringify(["big", long])}`);
  const big = JSON.parse((await next('42["big"')).slice(2))[1];
  const text = `${big} ${"é".repeat(50)} 🎉`;
  ws.send(`421${JSON.stringify(["echo", text])}`);
  const echoed = JSON.parse((await next("431")).slice(3))[0];
  const extensions = ws.extensions;
  ws.close();
  return { extensions, big, echoedOk: echoed === text };
}

// Runs in the page: a polling session and one large response.
async function inPagePolling(long) {
  const base = "/socket.io/?EIO=4&transport=polling";
  const open = await (await fetch(base)).text();
  const query = `${base}&sid=${encodeURIComponent(JSON.parse(open.slice(1)).sid)}`;
  const post = (body) => fetch(query, { method: "POST", body, headers: { "content-type": "text/plain;charset=UTF-8" } });
  await post("40");
  await (await fetch(query)).text();
  await post(`42${JSON.stringify(["big", long])}`);
  const res = await fetch(query);
  return { encoding: res.headers.get("content-encoding"), body: await res.text() };
}

function bigText(len) {
  const line = "sio compresses this line; ";
  return line.repeat(Math.ceil(len / line.length)).slice(0, len);
}

t.run(async () => {
  t.step("find Chromium");
  t.check(fs.existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium chromium-driver)`);
  const { chromium } = require("playwright-core");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sio-chromium-"));
  let context = null;
  try {
    t.step("launch Chromium");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000,
    });
    const page = context.pages()[0] || await context.newPage();
    const requests = [];
    page.on("request", (r) => requests.push(r));
    // Any page of the server's origin will do (this one is a 404).
    await page.goto(`${t.url}/compression-test`, { timeout: 10000 });

    t.step("WebSocket with permessage-deflate");
    const ws = await page.evaluate(inPageWebSocket, 100000);
    t.same(ws.extensions, "permessage-deflate", "extensions the server agreed with Chromium");
    t.check(ws.big === bigText(100000), `the long message arrived altered (${ws.big.length} chars)`);
    t.check(ws.echoedOk, "the long message Chromium sent came back altered");

    t.step("polling with compression");
    const polled = await page.evaluate(inPagePolling, 50000);
    const sentAccept = await requests[requests.length - 1].allHeaders();
    t.check(/gzip/.test(sentAccept["accept-encoding"] || ""),
      `Chromium's Accept-Encoding: ${JSON.stringify(sentAccept["accept-encoding"])}`);
    t.same(polled.encoding, "gzip", "Content-Encoding of the large polling response");
    t.same(polled.body, `42${JSON.stringify(["big", bigText(50000)])}`, "the decoded polling body");
    t.note(`Chromium sent Accept-Encoding: ${sentAccept["accept-encoding"]}; agreed ${ws.extensions}`);
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
