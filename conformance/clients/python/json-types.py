"""Events with JSON (server: the json-types scenario): every JSON type from
the server, several arguments both ways, echo as ack and as event, typed
handlers, a Unicode event name, an event without arguments."""
import lib
from lib import same, step

SERVER_TYPES = [
    None, True, False, 0, -1, 9007199254740991, 0.5, 1e300,
    "héllo wörld ☃ 🎉 \"q\" \\ \n\t\u0000\u2028",
    [[1, 2], [], [3]],
    {"name": "n", "tags": ["a", "b"], "inner": {"x": -1.25, "y": None}, "empty": []},
]
SENT = [None, True, 0, -7, 2.5, "text ☃", [1, [2, [3]]], {"k": {"deep": [None, False]}}, [], {}]
TYPED = [None, True, -42, 1.5, "s", [1, "two", None], {"name": "n", "tags": ["t"], "inner": {"x": 2.5, "y": 3}, "empty": []}]


async def main():
    step("server-types on connect")
    c = lib.client()
    await c.connect()
    same(await c.next("server-types"), SERVER_TYPES, "server-types")

    step("echo as ack")
    same(await c.call("echo", *SENT), SENT, "echo ack")

    step("reflect as an event")
    await c.emit("reflect", *SENT)
    same(await c.next("reflect"), SENT, "reflected event")

    step("typed handler")
    same(await c.call("typed", *TYPED), TYPED, "typed ack")

    step("Unicode event name")
    text = "naïve ☃ 🎉"
    same(await c.call("événement 🎉", text), [len(text), text], "événement ack")

    step("no arguments")
    await c.emit("no-args")
    same(await c.next("nothing"), [], "nothing")


lib.run(main)
