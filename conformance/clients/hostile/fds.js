"use strict";
// Descriptor exhaustion: the server runs under `ulimit -n 256` (the runner
// sees to it); 300 idle connections take every descriptor it has, so its
// accepts fail (EMFILE). It must live through that, keep serving the
// probe, and accept again once the connections are gone: a new
// socket.io-client connects and gets an ack.
const h = require("./lib");
const { t } = h;

const CONNECTIONS = 300;
// Longer than the server's headers timeout: it may close some of them
// meanwhile, and must then accept the ones waiting in its backlog.
const HOLD_MS = 1500;

h.hostileCase(async ({ pid, fds }) => {
  t.step(`open ${CONNECTIONS} idle connections`);
  // Past the listen backlog, connects wait for a SYN retry: not an error.
  const attempts = [];
  for (let i = 0; i < CONNECTIONS; i++) attempts.push(h.rawConnect(2000).catch(() => null));
  const socks = (await Promise.all(attempts)).filter(Boolean);
  const peakFds = h.fdCount(pid);
  await t.delay(HOLD_MS);
  t.check(h.alive(pid), `the server died with ${socks.length} connections open`);
  t.note(`${socks.length} of ${CONNECTIONS} connections opened; server fds ${fds} before, ${peakFds} with them open`);

  t.step("free them");
  for (const s of socks) s.destroy();
  await t.delay(300);

  t.step("a new client connects");
  const fresh = t.client("/", { transports: ["websocket"] });
  try {
    await t.connected(fresh, 3000);
    const [n] = await t.emitAck(fresh, "ping", 7);
    t.same(n, 7, "ack of the new client");
  } finally {
    fresh.close();
  }
});
