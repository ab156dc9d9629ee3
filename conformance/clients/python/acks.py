"""Acks both ways (server: the acks scenario): the client's acks with one
and several values, python-socketio's own call() and its timeout, the
server's emit_with_ack answered by a handler's return value, the server's
timeout when the answer comes too late, a broadcast collecting every
client's answer."""
import asyncio
import time

import socketio

import lib
from lib import check, same, step


async def main():
    c = lib.client()
    await c.connect()

    step("ack with one value")
    same(await c.call("double", 21), [42], "double ack")
    same(await c.library_call("double", 21), 42, "python-socketio call()")

    step("ack with several values")
    same(await c.call("two-answers"), ["first", 2, [3]], "ack arguments")

    step("server emit_with_ack, the client's handler answers")
    c.answer("question", lambda a, b: (a + b, "sum"))
    await c.emit("ask-me")
    same(await c.next("answer"), ["ok", 3, "sum"], "what the server got back")
    same(c.received("question"), [[1, 2]], "question arguments")

    step("client timeout, server never acks")
    try:
        await c.library_call("never-acked", timeout=0.3)
    except socketio.exceptions.TimeoutError:
        pass
    else:
        raise lib.Failure("call() of an event the server never acks returned")

    step("server timeout, the client answers too late")
    # python-socketio acks every event that asks for one, with the handler's
    # return value: a handler slower than the server's deadline stands in
    # for the npm script's listener that never calls back.
    if lib.KIND == "sync":
        c.answer("ignore-me", lambda *args: time.sleep(0.8))
    else:
        async def late(*args):
            await asyncio.sleep(0.8)

        c.sio.on("ignore-me", late)
    await c.emit("server-timeout", 300)
    outcome, waited = await c.next("server-timeout-result")
    same(outcome, "timeout", "server's emit_with_ack outcome")
    check(290 <= waited < 3000, f"server waited {waited} ms, expected about 300")
    same(await c.call("double", 1), [2], "round trip after the late answer")

    step("broadcast emit_with_ack collects every client")
    other = lib.client()
    await other.connect()
    for s in (c, other):
        s.answer("roll-call", lambda sender, s=s: f"{s.sid()} for {sender}")
    expected = sorted(f"{s.sid()} for {c.sid()}" for s in (c, other))
    same(await c.call("collect"), ["ok", expected], "collected answers")


lib.run(main)
