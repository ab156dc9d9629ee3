"use strict";
// Acks both ways: client emitWithAck, multi-argument acks, server
// emit_with_ack answered by a client callback, the client's timeout when
// the server never acks, the server's timeout when the client never acks,
// and a broadcast emit_with_ack collecting every client's answer.
const t = require("./lib");

t.run(async () => {
  const socket = t.client();
  await t.connected(socket);

  t.step("client emitWithAck");
  t.same(await socket.emitWithAck("double", 21), 42, "emitWithAck result");

  t.step("ack with several arguments");
  t.same(await t.emitAck(socket, "two-answers"), ["first", 2, [3]], "ack arguments");

  t.step("server emit_with_ack, client answers");
  let questionArgs = null;
  socket.on("question", (...args) => {
    questionArgs = args;
    const cb = args[args.length - 1];
    if (typeof cb === "function") cb(args[0] + args[1], "sum");
  });
  const answer = t.once(socket, "answer");
  socket.emit("ask-me");
  t.same(await answer, ["ok", 3, "sum"], "what the server got back");
  t.same(questionArgs, [1, 2, () => {}], "question arguments (the last one the ack callback)");

  t.step("client timeout, server never acks");
  const started = Date.now();
  const err = await new Promise((resolve) => socket.timeout(300).emit("never-acked", (e) => resolve(e)));
  const waited = Date.now() - started;
  t.check(err instanceof Error, `ack callback got ${t.canon(err)}, expected a timeout error`);
  t.same(err.message, "operation has timed out", "timeout error message");
  t.check(waited >= 290, `timed out after ${waited} ms, expected about 300`);
  let rejected = null;
  await socket.timeout(300).emitWithAck("never-acked").catch((e) => { rejected = e; });
  t.check(rejected instanceof Error, "emitWithAck with a timeout did not reject");

  t.step("server timeout, client never acks");
  let ignored = null;
  socket.on("ignore-me", (...args) => { ignored = args; });
  const result = t.once(socket, "server-timeout-result");
  socket.emit("server-timeout", 300);
  const [outcome, serverWaited] = await result;
  t.same(outcome, "timeout", "server's emit_with_ack outcome");
  t.check(serverWaited >= 290 && serverWaited < 3000, `server waited ${serverWaited} ms, expected about 300`);
  t.check(ignored && typeof ignored[ignored.length - 1] === "function",
    `ignore-me arrived with ${t.canon(ignored)}, expected an ack callback`);
  t.check(socket.connected, "disconnected after the server's ack timeout");

  t.step("broadcast emit_with_ack collects every client");
  const other = t.client();
  await t.connected(other);
  for (const s of [socket, other]) {
    s.on("roll-call", (from, cb) => cb(`${s.id} for ${from}`));
  }
  const expected = [socket, other].map((s) => `${s.id} for ${socket.id}`).sort();
  t.same(await t.emitAck(socket, "collect"), ["ok", expected], "collected answers");
});
