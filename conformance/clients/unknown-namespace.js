"use strict";
// A namespace the server does not have is refused with connect_error
// "Invalid namespace"; "/" on the same Manager is not affected.
const t = require("./lib");

t.run(async () => {
  t.step("alone");
  const lone = t.client("/nope");
  const err = await t.connectError(lone);
  t.same(err.message, "Invalid namespace", "connect_error message");
  t.check(!lone.connected, "socket connected despite connect_error");

  t.step("next to / on one Manager");
  const manager = t.manager();
  const good = manager.socket("/");
  const bad = manager.socket("/nope");
  const [_, badErr] = await Promise.all([t.connected(good), t.connectError(bad)]);
  t.same(badErr.message, "Invalid namespace", "connect_error message (multiplexed)");
  t.same(await t.emitAck(good, "echo", 1, "two"), [1, "two"], "echo on / after the refusal");
});
