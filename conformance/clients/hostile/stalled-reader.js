"use strict";
// A stalled reader under a fan-out: a raw WebSocket client joins room
// "fan" and stops reading (its TCP socket paused, never closed); a
// socket.io-client reader in the same room asks for 96 messages of
// 256 kB (24 MB; the kernel's socket buffers take up to about 10 MB of
// what the stalled reader is sent), 4 at a time, so the fan-out runs at the pace of a
// reader that keeps up. The healthy reader must get every message; the
// stalled one must be dropped (its backlog passes the server's
// max_buffered_bytes) and the memory it pinned freed, while its socket
// is still open.
const h = require("./lib");
const { t } = h;

const ROUNDS = 24;
const PER_ROUND = 4;
const SIZE = 256 * 1024;

h.hostileCase(async ({ info }) => {
  t.step("the stalled reader joins");
  const stalled = await h.rawSocket();
  stalled.text('420["join","fan"]');
  t.check(await stalled.nextText("430"), "the stalled reader's join was not acked");
  stalled.sock.pause();

  t.step("the healthy reader joins");
  const reader = t.client("/", { transports: ["websocket"] });
  const watcher = t.client("/", { transports: ["websocket"] });
  try {
    await t.connected(reader);
    await t.connected(watcher);
    const [before] = await t.emitAck(watcher, "count");
    t.same(await t.emitAck(reader, "join", "fan"), [true], "join");
    let got = 0;
    let bad = 0;
    reader.on("big", (i, blob) => {
      if (i !== got % PER_ROUND || typeof blob !== "string" || blob.length !== SIZE) bad++;
      got++;
    });
    let gone = null;
    reader.on("disconnect", (r) => { gone = r; });

    t.step(`fan-out of ${ROUNDS * PER_ROUND} x ${SIZE} bytes`);
    for (let r = 0; r < ROUNDS && !gone; r++) {
      await t.emitAck(reader, "fan-out", { room: "fan", count: PER_ROUND, size: SIZE });
    }
    t.check(!gone, `the healthy reader was disconnected (${gone})`);
    t.check(got === ROUNDS * PER_ROUND && bad === 0, `the healthy reader got ${got} of ${ROUNDS * PER_ROUND} messages (${bad} wrong)`);

    t.step("the stalled reader is dropped");
    // `before` counts the probe, the stalled reader, the healthy reader
    // and the watcher: the stalled one must go.
    const deadline = Date.now() + info.close_timeout_ms + 1000;
    let count = null;
    for (;;) {
      [count] = await t.emitAck(watcher, "count");
      if (count <= before - 1 || Date.now() >= deadline) break;
      await t.delay(100);
    }
    // Checked after the RSS is measured, the stalled socket still open
    // and paused; it closes when the script exits.
    return () => t.check(count === before - 1, `the server still has ${count} sockets (${before} with the stalled reader), ${info.close_timeout_ms + 1000} ms after the fan-out; the stalled reader was not dropped`);
  } finally {
    reader.close();
    watcher.close();
  }
});
