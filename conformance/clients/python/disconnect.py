"""Disconnect reasons (server: the disconnect scenario, which emits "left"
with the socket id and the server-side reason to whoever is left): the
client's disconnect, the server's, the client closing the engine, and the
server closing the whole connection of / and /other on each transport."""
import lib
from lib import check, same, step


async def main():
    observer = lib.client()
    await observer.connect()

    async def server_reason(sid):
        def find():
            return [r for s, r in observer.received("left") if s == sid]

        await lib.until(find, f"server's disconnect of {sid}")
        return find()[0]

    step("client disconnect")
    a = lib.client()
    await a.connect()
    a_id = a.sid()
    await a.disconnect()
    same(await a.next("disconnect"), ["client disconnect"], "client-side reason")
    reason = await server_reason(a_id)
    if reason == "transport close":
        # The Node server hears the same: python-engineio closes the
        # transport without waiting for the DISCONNECT packet it queued.
        lib.known('disconnect(): the server hears "transport close", not "client namespace disconnect"'
                  " (python-engineio closes the transport before its queued DISCONNECT is out; same with the Node server)")
    else:
        same(reason, "client namespace disconnect", "server-side reason")

    step("server disconnect")
    b = lib.client()
    await b.connect()
    b_id = b.sid()
    await b.emit("kick-me")
    same(await b.next("disconnect"), ["server disconnect"], "client-side reason")
    same(await server_reason(b_id), "server namespace disconnect", "server-side reason")
    check(not b.sio.connected, "still connected after the server's disconnect")

    step("client closes the engine")
    d = lib.client()
    await d.connect()
    d_id = d.sid()
    await d.close_engine()
    lib.note(f"engine closed: client-side reason {(await d.next('disconnect'))[0]!r}")
    same(await server_reason(d_id), "transport close", "server-side reason")

    for label, transports in [("websocket", ["websocket"]), ("default", None), ("polling", ["polling"])]:
        step(f"{label}: server disconnect with close")
        m = lib.client(namespaces=("/", "/other"))
        await m.connect(transports=transports)
        ids = {ns: m.sid(ns) for ns in ("/", "/other")}
        transport_then = m.transport()
        await m.emit("kick-me-hard")
        for ns in ("/", "/other"):
            same(await m.next("disconnect", ns=ns), ["server disconnect"],
                 f"client-side reason on {ns} (transport {transport_then} at the emit)")
            same(await server_reason(ids[ns]), "server namespace disconnect", f"server-side reason on {ns}")

    step("observer still connected")
    same(await observer.call("echo", "still here"), ["still here"], "observer echo")


lib.run(main)
