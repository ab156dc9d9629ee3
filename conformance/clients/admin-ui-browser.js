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
const path = require("node:path");
const t = require("./lib");
const { USERNAME, PASSWORD, SERVER_ID } = require("./admin-lib");
const { serveUi, launch, waitForPage, login, screenshot, UI_MS } = require("./admin-ui-page");

const [artifacts, label] = process.argv.slice(3);

t.run(async () => {
  t.check(artifacts && label, "usage: admin-ui-browser.js <url> <artifacts dir> <label>");
  fs.mkdirSync(artifacts, { recursive: true });

  t.step("two npm clients");
  const red = t.client("/", { query: { room: "red" } });
  const blue = t.client("/", { query: { room: "blue" } });
  await Promise.all([t.connected(red), t.connected(blue)]);
  const [redId, blueId] = [red.id, blue.id];

  const ui = await serveUi();
  const uiUrl = `http://127.0.0.1:${ui.address().port}/`;
  let browser = null;
  const shot = async (page, name) => {
    const file = await screenshot(page, path.resolve(artifacts, `admin-ui-${label}-${name}.png`));
    console.log(`ARTIFACT ${file}`);
  };
  try {
    t.step("launch Chromium");
    browser = await launch();
    const { page } = browser;
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));

    t.step("log in");
    await login(page, uiUrl, t.url, USERNAME, PASSWORD);

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
    if (browser) await browser.close();
    ui.close();
    red.close();
    blue.close();
  }
});
