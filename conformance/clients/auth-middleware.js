"use strict";
// Middleware reads handshake.auth and the query; refusals carry message and
// data to connect_error; a refused namespace leaves "/" on the Manager alone.
const t = require("./lib");

t.run(async () => {
  t.step("accepted with the token");
  const ok = t.client("/", { auth: { token: "s3cret" } });
  const hello = t.once(ok, "hello");
  await t.connected(ok);
  t.same(await hello, ["alice", "s3cret"], "hello (user set by middleware, token from handshake.auth)");

  t.step("refused with message and data");
  const wrong = t.client("/", { auth: { token: "wrong" } });
  const err = await t.connectError(wrong);
  t.same(err.message, "bad token", "connect_error message");
  t.same(err.data, { code: 4001, retry: false, hint: ["use", "s3cret"], detail: null }, "connect_error data");

  t.step("refused without data");
  const none = t.client("/");
  const err2 = await t.connectError(none);
  t.same(err2.message, "no token", "connect_error message");
  t.check(err2.data === undefined, `connect_error data is ${t.canon(err2.data)}, expected undefined`);

  t.step("second middleware step refuses");
  const blocked = t.client("/", { auth: { token: "s3cret" }, query: { block: "yes" } });
  const err3 = await t.connectError(blocked);
  t.same(err3.message, "blocked by step two", "connect_error message");
  t.same(err3.data, "query", "connect_error data");

  t.step("namespace middleware on a shared Manager");
  const manager = t.manager();
  const root = manager.socket("/", { auth: { token: "s3cret" } });
  const admin = manager.socket("/admin", { auth: { token: "s3cret" } });
  const rootHello = t.once(root, "hello");
  const [_, adminErr] = await Promise.all([t.connected(root), t.connectError(admin)]);
  t.same(adminErr.message, "admins only", "/admin connect_error message");
  t.same(await rootHello, ["alice", "s3cret"], "hello on / next to the refused /admin");
  t.check(root.connected, "/ got disconnected by the refusal of /admin");
});
