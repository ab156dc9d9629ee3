"use strict";
// Rooms with three clients: join, socket.to(room) (sender left out), several
// rooms (each recipient once), except, broadcast, io.emit, io.to, a socket's
// own room, leave. After each step every client waits for a marker sent
// after the step's messages, so "did not receive" needs no sleep.
const t = require("./lib");

t.run(async () => {
  const names = ["A", "B", "C"];
  const c = {};
  const inbox = {};
  const markers = {};
  for (const n of names) {
    c[n] = t.client();
    inbox[n] = [];
    markers[n] = new Set();
    c[n].on("msg", (tag) => inbox[n].push(tag));
    c[n].on("marker", (step) => markers[n].add(step));
  }
  await Promise.all(names.map((n) => t.connected(c[n])));

  t.step("join");
  const joins = [["A", "r1"], ["B", "r1"], ["B", "r2"], ["C", "r2"]];
  for (const [n, room] of joins) t.same(await t.emitAck(c[n], "join", room), [true], `${n} joins ${room}`);
  t.same(await t.emitAck(c.A, "rooms"), [[c.A.id, "r1"].sort()], "rooms of A");
  t.same(await t.emitAck(c.B, "rooms"), [[c.B.id, "r1", "r2"].sort()], "rooms of B");

  let stepNo = 0;
  async function expect(label, actor, event, args, receivers) {
    stepNo += 1;
    t.step(`${label} (step ${stepNo})`);
    const tag = `s${stepNo}`;
    c[actor].emit(event, ...args(tag));
    await t.emitAck(c[actor], "marker", stepNo);
    await Promise.all(names.map((n) => t.until(c[n], "marker", () => markers[n].has(stepNo), `marker ${stepNo} at ${n}`)));
    for (const n of names) {
      const want = receivers.includes(n) ? [tag] : [];
      t.same(inbox[n], want, `${label}: messages at ${n}`);
      inbox[n] = [];
    }
  }

  await expect("A to r1", "A", "to", (tag) => [["r1"], tag], ["B"]);
  await expect("A to r1+r2", "A", "to", (tag) => [["r1", "r2"], tag], ["B", "C"]);
  await expect("B to r1", "B", "to", (tag) => [["r1"], tag], ["A"]);
  await expect("C (not in r1) to r1", "C", "to", (tag) => [["r1"], tag], ["A", "B"]);
  await expect("A broadcast", "A", "broadcast", (tag) => [tag], ["B", "C"]);
  await expect("A except r1", "A", "except", (tag) => ["r1", tag], ["C"]);
  await expect("C except r2", "C", "except", (tag) => ["r2", tag], ["A"]);
  await expect("io.emit from A", "A", "all", (tag) => [tag], ["A", "B", "C"]);
  await expect("io.to(r1) from A", "A", "server-to", (tag) => ["r1", tag], ["A", "B"]);
  await expect("A to B's own room", "A", "to", (tag) => [[c.B.id], tag], ["B"]);

  t.step("leave");
  t.same(await t.emitAck(c.B, "leave", "r1"), [true], "B leaves r1");
  t.same(await t.emitAck(c.B, "rooms"), [[c.B.id, "r2"].sort()], "rooms of B after leaving r1");
  await expect("A to r1 after B left", "A", "to", (tag) => [["r1"], tag], []);
  await expect("A to r1+r2 after B left", "A", "to", (tag) => [["r1", "r2"], tag], ["B", "C"]);
});
