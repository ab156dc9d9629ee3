"""Connect with auth (server: the auth-middleware scenario): middleware reads
the CONNECT packet's auth and the query; refusals reach connect_error with
message and data; a refused /admin next to / leaves / connected."""
import socketio

import lib
from lib import check, same, step


async def main():
    step("accepted with the token")
    ok = lib.client()
    await ok.connect(auth={"token": "s3cret"})
    same(await ok.next("hello"), ["alice", "s3cret"], "hello (user set by middleware, token from auth)")

    refusals = [
        ("refused with message and data", {"token": "wrong"}, "",
         {"message": "bad token", "data": {"code": 4001, "retry": False, "hint": ["use", "s3cret"], "detail": None}}),
        ("refused without data", None, "", {"message": "no token"}),
        ("second middleware step refuses", {"token": "s3cret"}, "?block=yes",
         {"message": "blocked by step two", "data": "query"}),
    ]
    for label, auth, query, expected in refusals:
        step(label)
        c = lib.client()
        try:
            await c.connect(lib.URL + query, auth=auth)
        except socketio.exceptions.ConnectionError:
            pass
        else:
            raise lib.Failure("connected, expected a refusal")
        same(c.received("connect_error"), [[expected]], "connect_error arguments")
        check(not c.connected(), "connected after the refusal")

    step("refused /admin next to / on one connection")
    both = lib.client(namespaces=("/", "/admin"))
    # wait=False: python-socketio's wait=True gives up every namespace when one fails.
    await both.connect(auth={"token": "s3cret"}, wait=False)
    same(await both.next("connect_error", ns="/admin"), [{"message": "admins only"}], "/admin connect_error")
    same(await both.next("hello"), ["alice", "s3cret"], "hello on / next to the refused /admin")
    check(both.connected("/") and not both.connected("/admin"), f"namespaces after the refusal: {list(both.sio.namespaces)}")


lib.run(main)
