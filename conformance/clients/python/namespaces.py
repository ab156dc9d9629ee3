"""Namespaces (server: the namespaces scenario): /admin alone, then / and
/admin multiplexed on one connection with their own socket ids."""
import lib
from lib import check, same, step


async def main():
    step("/admin alone")
    solo = lib.client(namespaces=("/admin",))
    await solo.connect()
    same(await solo.next("where", ns="/admin"), ["/admin", solo.sid("/admin")], "where on /admin")
    check(not solo.connected("/"), "connected to / without asking")

    step("/ and /admin multiplexed")
    both = lib.client(namespaces=("/", "/admin"))
    await both.connect()
    root, admin = both.sid("/"), both.sid("/admin")
    check(root and admin and root != admin, f"socket ids {root!r} and {admin!r}, expected two distinct ones")
    check(root != both.sio.eio.sid, "the socket id of / is the Engine.IO session id (v5 keeps them apart)")
    same(await both.next("where"), ["/", root], "where on /")
    same(await both.next("where", ns="/admin"), ["/admin", admin], "where on /admin")
    same(await both.call("whoami", ns="/admin"), ["/admin", admin], "whoami on /admin")
    same(await both.call("whoami"), ["/", root], "whoami on /")


lib.run(main)
