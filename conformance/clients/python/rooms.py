"""Rooms through server events (server: the rooms scenario), three clients:
join, to(room) without the sender, several rooms, except, broadcast,
io.emit, io.to, a socket's own room, leave. After each step every client
waits for a marker the server sends after the step's messages."""
import lib
from lib import same, step

NAMES = ["A", "B", "C"]


async def main():
    c = {n: lib.client() for n in NAMES}
    for n in NAMES:
        await c[n].connect()

    step("join")
    for n, room in [("A", "r1"), ("B", "r1"), ("B", "r2"), ("C", "r2")]:
        same(await c[n].call("join", room), [True], f"{n} joins {room}")
    same(await c["A"].call("rooms"), [sorted([c["A"].sid(), "r1"])], "rooms of A")
    same(await c["B"].call("rooms"), [sorted([c["B"].sid(), "r1", "r2"])], "rooms of B")

    step_no = 0

    async def expect(label, actor, event, args, receivers):
        nonlocal step_no
        step_no += 1
        step(f"{label} (step {step_no})")
        tag = f"s{step_no}"
        await c[actor].emit(event, *args(tag))
        await c[actor].call("marker", step_no)
        for n in NAMES:
            await lib.until(lambda n=n: [step_no] in c[n].received("marker"), f"marker {step_no} at {n}")
        for n in NAMES:
            want = [[tag]] if n in receivers else []
            same(c[n].take("msg"), want, f"{label}: messages at {n}")

    await expect("A to r1", "A", "to", lambda t: [["r1"], t], ["B"])
    await expect("A to r1+r2", "A", "to", lambda t: [["r1", "r2"], t], ["B", "C"])
    await expect("B to r1", "B", "to", lambda t: [["r1"], t], ["A"])
    await expect("C (not in r1) to r1", "C", "to", lambda t: [["r1"], t], ["A", "B"])
    await expect("A broadcast", "A", "broadcast", lambda t: [t], ["B", "C"])
    await expect("A except r1", "A", "except", lambda t: ["r1", t], ["C"])
    await expect("C except r2", "C", "except", lambda t: ["r2", t], ["A"])
    await expect("io.emit from A", "A", "all", lambda t: [t], ["A", "B", "C"])
    await expect("io.to(r1) from A", "A", "server-to", lambda t: ["r1", t], ["A", "B"])
    await expect("A to B's own room", "A", "to", lambda t: [[c["B"].sid()], t], ["B"])

    step("leave")
    same(await c["B"].call("leave", "r1"), [True], "B leaves r1")
    same(await c["B"].call("rooms"), [sorted([c["B"].sid(), "r2"])], "rooms of B after leaving r1")
    await expect("A to r1 after B left", "A", "to", lambda t: [["r1"], t], [])
    await expect("A to r1+r2 after B left", "A", "to", lambda t: [["r1", "r2"], t], ["B", "C"])


lib.run(main)
