"use strict";
// The chat example's page in headless Chromium (Debian's, driven by
// playwright-core): two pages log in as two users, join a room and see each
// other's messages (peers named by socket id, as the guide's events do);
// then Bob's connection drops, Alice writes, and Bob's page comes back
// "recovered" (connection state recovery) with her message.
//
//   node clients/browser-chat.js <chat url> <default|polling|msgpack> <artifacts dir>
//
// `default`: the page's default transports, upgraded to WebSocket.
// `msgpack`: the same with the chat on the MessagePack parser (CHAT_PARSER,
// set by the runner): the page must load socket.io-client's MessagePack
// bundle, and every Socket.IO message on the WebSockets must be binary.
// `polling`: the page with ?transport=polling, and every WebSocket the
// browser would open refused; none may be tried. Saves a screenshot of each
// page to the artifacts dir (printed as `ARTIFACT <path>`).
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const t = require("./lib");

const [mode, artifacts] = process.argv.slice(3);
const CHROMIUM = process.env.SIO_CHROMIUM || "/usr/bin/chromium";
// Chromium as this machine runs it: no sandbox (root), no GPU, and nothing
// that reaches out to the network (the network is closed).
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const UI_MS = 10000;
const ROOM = "lobby";

// A log line without its time stamp (the page writes `<time>  <text>`).
const untimed = (line) => line.slice(line.indexOf("  ") + 2);

// Lines of the page's log (#log li), without their time stamps.
async function logLines(page) {
  return (await page.locator("#log li").allTextContents()).map(untimed);
}

async function waitForLog(page, who, predicate, what) {
  try {
    await page.waitForFunction(
      ([source, untimedSource]) => {
        const test = new Function("line", `return (${source})(line);`);
        const strip = new Function("line", `return (${untimedSource})(line);`);
        return [...document.querySelectorAll("#log li")].some((li) => test(strip(li.textContent)));
      },
      [predicate.toString(), untimed.toString()],
      { timeout: UI_MS, polling: 50 },
    );
  } catch (e) {
    throw new Error(`${who}'s page never showed ${what}; its log: ${JSON.stringify(await logLines(page))}`);
  }
}

async function waitForText(page, who, selector, predicate, what) {
  try {
    await page.waitForFunction(
      ([sel, source]) => {
        const el = document.querySelector(sel);
        return !!el && new Function("text", `return (${source})(text);`)(el.textContent);
      },
      [selector, predicate.toString()],
      { timeout: UI_MS, polling: 50 },
    );
  } catch (e) {
    const text = await page.locator(selector).textContent().catch(() => "(none)");
    throw new Error(`${who}'s page: ${selector} never ${what} (it says ${JSON.stringify(text)}); ` +
      `log: ${JSON.stringify(await logLines(page))}`);
  }
}

async function login(page, name, pageUrl, transport) {
  t.step(`${name}: open the page`);
  // A tab in the background gets no frames, and Playwright's actions wait
  // for frames: act on the one in front.
  await page.bringToFront();
  await page.goto(pageUrl, { timeout: UI_MS });
  const bundle = mode === "msgpack" ? "/socket.io.msgpack.min.js" : "/socket.io.min.js";
  await waitForLog(page, name, new Function("l", `return l.includes(${JSON.stringify(`socket.io client loaded from ${bundle}`)});`),
    "the local client bundle loaded");
  t.step(`${name}: log in`);
  await page.fill("#user", name);
  await page.click("#login button:not([type=button])");
  await waitForLog(page, name, (l) => l.includes("connected as socket"), "a connection");
  await waitForText(page, name, "#status", new Function("text", `return text === "connected (${transport})";`),
    `said connected (${transport})`);
  t.step(`${name}: join ${ROOM}`);
  await page.fill("#room", ROOM);
  await page.click("#join");
  await waitForText(page, name, "#current-room", (text) => text.includes("lobby"), "showed the room");
  // The chat names peers by socket id, as the guide's events do.
  const connected = (await logLines(page)).filter((l) => l.startsWith("connected as socket "));
  return connected[connected.length - 1].slice("connected as socket ".length);
}

async function say(page, name, message) {
  t.step(`${name}: send`);
  await page.bringToFront();
  await page.fill("#message", message);
  await page.click("#send");
  await waitForLog(page, name, new Function("line", `return line.endsWith(${JSON.stringify(`[${ROOM}] me: ${message}`)});`),
    "its own message acknowledged");
}

t.run(async () => {
  t.check(["default", "polling", "msgpack"].includes(mode), `mode ${mode}: expected default, polling or msgpack`);
  t.check(artifacts, "usage: browser-chat.js <url> <default|polling|msgpack> <artifacts dir>");
  t.step("find Chromium");
  t.check(fs.existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium chromium-driver)`);
  const { chromium } = require("playwright-core");
  const polling = mode === "polling";
  const pageUrl = polling ? `${t.url}/?transport=polling` : `${t.url}/`;
  const transport = polling ? "polling" : "websocket";
  fs.mkdirSync(artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sio-chromium-"));
  let context = null;
  try {
    t.step("launch Chromium");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 900, height: 900 },
      timeout: 30000,
    });
    // Refuse every WebSocket in the polling run; count them in both.
    const websockets = [];
    if (polling) {
      await context.routeWebSocket(/.*/, (ws) => {
        websockets.push(ws.url());
        ws.close();
      });
    }
    const errors = [];
    const frames = { binary: 0, text: [] };
    const alice = context.pages()[0] || await context.newPage();
    const bob = await context.newPage();
    for (const [page, who] of [[alice, "Alice"], [bob, "Bob"]]) {
      page.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
      page.on("websocket", (ws) => {
        if (polling) return;
        websockets.push(ws.url());
        // Text frames other than Engine.IO's own (ping, pong, probe, upgrade).
        const look = ({ payload }) => {
          if (typeof payload !== "string") frames.binary += 1;
          else if (!/^[2-6](probe)?$/.test(payload)) frames.text.push(payload);
        };
        ws.on("framesent", look);
        ws.on("framereceived", look);
      });
    }

    const aliceId = await login(alice, "Alice", pageUrl, transport);
    const bobId = await login(bob, "Bob", pageUrl, transport);
    await waitForLog(alice, "Alice", new Function("line", `return line === ${JSON.stringify(`${bobId} joined "${ROOM}"`)};`),
      "Bob joining");

    const fromAlice = `hello Bob, this is Alice on ${mode}`;
    const fromBob = `hi Alice, Bob here on ${mode}`;
    await say(alice, "Alice", fromAlice);
    t.step("Bob sees Alice's message");
    await waitForLog(bob, "Bob", new Function("line", `return line === ${JSON.stringify(`[${ROOM}] ${aliceId}: ${fromAlice}`)};`),
      "Alice's message");
    await say(bob, "Bob", fromBob);
    t.step("Alice sees Bob's message");
    await waitForLog(alice, "Alice", new Function("line", `return line === ${JSON.stringify(`[${ROOM}] ${bobId}: ${fromBob}`)};`),
      "Bob's message");

    t.step("transports");
    for (const [page, who] of [[alice, "Alice"], [bob, "Bob"]]) {
      const status = await page.locator("#status").textContent();
      t.same(status, `connected (${transport})`, `${who}'s status at the end`);
      const bad = (await logLines(page)).filter((l) => /error|disconnected/.test(l));
      t.same(bad, [], `${who}'s errors and disconnections`);
    }
    if (polling) t.same(websockets, [], "WebSockets the pages tried");
    else t.check(websockets.length >= 2, `only ${websockets.length} WebSocket(s) opened, expected one per page`);
    t.same(errors, [], "page errors");
    if (mode === "msgpack") {
      t.step("MessagePack on the wire");
      for (const [page, who] of [[alice, "Alice"], [bob, "Bob"]]) {
        const loaded = (await logLines(page)).filter((l) => l.startsWith("socket.io client loaded from"));
        t.same(loaded, ["socket.io client loaded from /socket.io.msgpack.min.js"], `${who}'s client bundle`);
      }
      t.same(frames.text, [], "Socket.IO messages sent as text");
      t.check(frames.binary >= 4, `only ${frames.binary} binary frames on the WebSockets`);
    } else {
      t.check(frames.binary === 0 || mode === "polling", `${frames.binary} binary frames with the JSON parser`);
    }

    // Bob's connection drops (his page closes its engine; the server sees
    // "transport close"); Alice writes while he is away. His page must come
    // back recovered, with the same id, and show her message.
    t.step("Bob drops and recovers");
    await bob.evaluate(() => socket.io.engine.close());
    const whileAway = `did you miss me, Bob? (${mode})`;
    await say(alice, "Alice", whileAway);
    await waitForLog(bob, "Bob", new Function("line", `return line === ${JSON.stringify(`connected as socket ${bobId} (recovered)`)};`),
      "the recovered connection");
    await waitForLog(bob, "Bob", new Function("line", `return line === ${JSON.stringify(`[${ROOM}] ${aliceId}: ${whileAway}`)};`),
      "Alice's message sent while he was away");
    t.same(errors, [], "page errors after the drop");

    t.step("screenshots");
    for (const [page, who] of [[alice, "alice"], [bob, "bob"]]) {
      const file = path.resolve(artifacts, `browser-chat-${mode}-${who}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`ARTIFACT ${file}`);
    }
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
