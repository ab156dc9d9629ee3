"use strict";
// Every JSON type both ways, several arguments, exact equality (key order
// included): raw echo through an ack, raw re-emit as an event, typed serde
// handlers, server-made typed values, unicode event names, no arguments.
const t = require("./lib");

const EVERY_TYPE = [
  null, true, false,
  0, 42, -7, 3.14159, 1e-7, 2 ** 53 - 1, -(2 ** 53 - 1), 1.7976931348623157e308,
  "", "plain",
  "ünïcödé ☃ 日本語 🎉👍🏽 \"q\" \\ / \b\f\n\r\t \u0000\u001f \u2028\u2029",
  "lone surrogate \ud83d here",
  [], [1, [2, [3, [4]]]], [null, { a: [true, false] }],
  {}, { z: 1, a: 2, m: { y: [{}], b: null } },
  { "": "empty key", "ключ": "значение", "🎉": true, "10": "integer-like key" },
];

t.run(async () => {
  const socket = t.client();
  const serverTypes = t.once(socket, "server-types");
  await t.connected(socket);

  t.step("server-made typed values");
  t.same(await serverTypes, [
    null, true, false, 0, -1, 9007199254740991, 0.5, 1e300,
    "héllo wörld ☃ 🎉 \"q\" \\ \n\t\u0000\u2028",
    [[1, 2], [], [3]],
    { name: "n", tags: ["a", "b"], inner: { x: -1.25, y: null }, empty: [] },
  ], "server-types");

  t.step("echo every JSON type as ack arguments");
  t.same(await t.emitAck(socket, "echo", ...EVERY_TYPE), EVERY_TYPE, "echo ack");

  t.step("reflect every JSON type as an event");
  const reflected = t.once(socket, "reflect");
  socket.emit("reflect", ...EVERY_TYPE);
  t.same(await reflected, EVERY_TYPE, "reflected event");

  t.step("typed handler, keys in declaration order");
  const typed = [null, true, -42, 3.25, "héllo ☃ 🎉", [1, [2, [3]], "x", null, {}],
    { name: "n", tags: ["a", "b"], inner: { x: 1.5, y: 7 }, empty: [] }];
  t.same(await t.emitAck(socket, "typed", ...typed), typed, "typed ack");

  t.step("typed handler, keys out of order");
  const shuffled = { empty: [], inner: { y: null, x: 2 }, tags: [], name: "m" };
  const reply = await t.emitAck(socket, "typed", null, false, 0, -0.5, "", [], shuffled);
  t.same(reply, [null, false, 0, -0.5, "", [], { name: "m", tags: [], inner: { x: 2, y: null }, empty: [] }],
    "typed ack (serde field order)");

  t.step("unicode event name");
  t.same(await t.emitAck(socket, "événement 🎉", "añb🎉"), [4, "añb🎉"], "ack of the unicode-named event");

  t.step("event without arguments");
  const nothing = t.once(socket, "nothing");
  socket.emit("no-args");
  t.same(await nothing, [], "arguments of \"nothing\"");
});
