"use strict";
// The official Admin UI's page, for the browser checks (admin-ui-browser.js
// and cluster/admin-run.js --browser): its static build from the npm
// package served on 127.0.0.1, Chromium as this machine runs it with every
// request off this machine refused, the login form filled in, and a wait
// on what the page shows.
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");

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
  if (!fs.existsSync(path.join(UI_DIR, "index.html"))) {
    throw new Error(`the Admin UI build is missing at ${UI_DIR} (npm ci)`);
  }
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

// Chromium with a fresh profile; `close()` ends it and removes the profile.
async function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}`);
  const { chromium } = require("playwright-core");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sio-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 }, timeout: 30000,
  });
  // Only this machine: the page's web fonts and icon CDN are refused.
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === "127.0.0.1" ? route.continue() : route.abort();
  });
  const page = context.pages()[0] || await context.newPage();
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { page, close };
}

// Waits until `test` (run in the page) holds; fails with what it shows.
async function waitForPage(page, what, test) {
  try {
    await page.waitForFunction(test, null, { timeout: UI_MS, polling: 100 });
  } catch (e) {
    const text = await page.evaluate(() => document.body.innerText).catch(() => "(none)");
    throw new Error(`the page never showed ${what}; it shows: ${JSON.stringify(text.slice(0, 1500))}`);
  }
}

// Opens the UI at `uiUrl` and logs in to `serverUrl` through its form.
async function login(page, uiUrl, serverUrl, username, password) {
  await page.goto(uiUrl, { timeout: UI_MS });
  await page.getByLabel("Server URL").fill(serverUrl);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();
  await waitForPage(page, "the dashboard, connected", () =>
    !document.querySelector(".v-dialog--active") && document.body.innerText.includes("Dashboard"));
}

// Saves a screenshot once transitions are over; returns its path.
async function screenshot(page, file) {
  await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
  return file;
}

module.exports = { serveUi, launch, waitForPage, login, screenshot, UI_MS };
