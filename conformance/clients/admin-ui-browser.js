"use strict";
// The official Admin UI (the static build inside npm @socket.io/admin-ui,
// served here on a port of its own; nothing is fetched from the internet)
// in headless Chromium, logged in to the sio server under test. Two npm
// clients are connected; the page must show their sockets, their rooms
// and the namespace counts; then the UI disconnects one of them, which
// sees "io server disconnect". Screenshots go to the artifacts dir.
//
//   node clients/admin-ui-browser.js <server url> <artifacts dir> <label>
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const t = require("./lib");
const { USERNAME, PASSWORD, SERVER_ID } = require("./admin-lib");

const [artifacts, label] = process.argv.slice(3);
const CHROMIUM = process.env.SIO_CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const UI_MS = 15000;
const UI_DIR = path.join(__dirname, "..", "node_modules", "@socket.io", "admin-ui", "ui", "dist");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css",
  ".svg": "image/svg+xml", ".png": "image/png", ".map": "application/json" };

// The UI's files on 127.0.0.1 (paths outside its directory are refused).
function serveUi() {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, "http://x").pathname).replace(/^\/+/, "") || "index.html";
    const file = path.resolve(UI_DIR, rel);
    if (!file.startsWith(UI_DIR + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// Waits until the page's text passes `test`; fails with what it showed.
async function waitForPage(page, what, test) {
  try {
    await page.waitForFunction(test, null, { timeout: UI_MS, polling: 100 });
  } catch (e) {
    const text = await page.evaluate(() => document.body.innerText).catch(() => "(none)");
    throw new Error(`the page never showed ${what}; it shows: ${JSON.stringify(text.slice(0, 1500))}`);
  }
}

t.run(async () => {
  t.check(artifacts && label, "usage: admin-ui-browser.js <url> <artifacts dir> <label>");
  t.check(fs.existsSync(path.join(UI_DIR, "index.html")), `the Admin UI build is missing at ${UI_DIR} (npm ci)`);
  t.check(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
  const { chromium } = require("playwright-core");
  fs.mkdirSync(artifacts, { recursive: true });

  t.step("two npm clients");
  const red = t.client("/", { query: { room: "red" } });
  const blue = t.client("/", { query: { room: "blue" } });
  await Promise.all([t.connected(red), t.connected(blue)]);
  const [redId, blueId] = [red.id, blue.id];

  const ui = await serveUi();
  const uiUrl = `http://127.0.0.1:${ui.address().port}/`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sio-chromium-"));
  let context = null;
  const shot = async (page, name) => {
    const file = path.resolve(artifacts, `admin-ui-${label}-${name}.png`);
    // Transitions finished: the page as it settles, not mid-fade.
    await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
    console.log(`ARTIFACT ${file}`);
  };
  try {
    t.step("launch Chromium");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 }, timeout: 30000,
    });
    // Only this machine: the page's web fonts and icon CDN are refused.
    await context.route("**/*", (route) => {
      const host = new URL(route.request().url()).hostname;
      return host === "127.0.0.1" ? route.continue() : route.abort();
    });
    const page = context.pages()[0] || await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));

    t.step("log in");
    await page.goto(uiUrl, { timeout: UI_MS });
    await page.getByLabel("Server URL").fill(t.url);
    await page.getByLabel("Username").fill(USERNAME);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Connect" }).click();
    await waitForPage(page, "the dashboard, connected", () =>
      !document.querySelector(".v-dialog--active") && document.body.innerText.includes("Dashboard"));

    t.step("namespace counts on the dashboard");
    await waitForPage(page, "/ with 2 sockets and /admin with 1", () => {
      const rows = [...document.querySelectorAll("tr")].map((tr) =>
        [...tr.querySelectorAll("td")].map((td) => td.innerText.trim()));
      const count = (name) => (rows.find((r) => r[0] === name) || [])[1];
      return count("/") === "2" && count("/admin") === "1";
    });
    await shot(page, "dashboard");

    t.step("servers");
    await page.goto(`${uiUrl}#/servers/`);
    await waitForPage(page, `the server ${SERVER_ID}`, new Function(
      `return document.body.innerText.includes(${JSON.stringify(SERVER_ID)});`));
    await shot(page, "servers");

    t.step("sockets");
    await page.goto(`${uiUrl}#/sockets/`);
    await waitForPage(page, `the sockets ${redId} and ${blueId}`, new Function(
      `const text = document.body.innerText;
       return text.includes(${JSON.stringify(redId)}) && text.includes(${JSON.stringify(blueId)});`));
    await shot(page, "sockets");

    t.step("rooms");
    await page.goto(`${uiUrl}#/rooms/`);
    await waitForPage(page, "the rooms red and blue", () => {
      const cells = [...document.querySelectorAll("td")].map((td) => td.innerText.trim());
      return cells.includes("red") && cells.includes("blue");
    });
    await shot(page, "rooms");

    t.step("disconnect red from the UI");
    await page.goto(`${uiUrl}#/sockets/`);
    const row = page.locator("tr", { hasText: redId });
    const reason = t.once(red, "disconnect", UI_MS);
    await row.locator("button:has(.mdi-logout)").click({ timeout: UI_MS });
    t.same((await reason)[0], "io server disconnect", "red's disconnect reason");
    // The click also opens the row's details page: back to the list.
    await page.goto(`${uiUrl}#/sockets/`);
    await waitForPage(page, `${redId} gone and ${blueId} still listed`, new Function(
      `const text = document.body.innerText;
       return !text.includes(${JSON.stringify(redId)}) && text.includes(${JSON.stringify(blueId)});`));
    await shot(page, "after-disconnect");
    await page.goto(`${uiUrl}#/rooms/`);
    await waitForPage(page, "the room red gone, blue still there", () => {
      const cells = [...document.querySelectorAll("td")].map((td) => td.innerText.trim());
      return !cells.includes("red") && cells.includes("blue");
    });
    t.check(blue.connected, "blue still connected");
    t.same(errors, [], "page errors");
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
    ui.close();
    red.close();
    blue.close();
  }
});
