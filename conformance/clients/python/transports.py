"""Transports (server: the transports scenario), one per run as the mode
argument says: `polling` (polling only, never upgrades), `websocket`
(WebSocket from the start), `upgrade` (the default: polling, then the
upgrade to WebSocket)."""
import lib
from lib import check, same, step

MODES = {"polling": ["polling"], "websocket": ["websocket"], "upgrade": None}


async def main():
    mode = lib.ARGS[0] if lib.ARGS else ""
    if mode not in MODES:
        raise lib.Failure(f"mode {mode!r}, expected one of {list(MODES)}")
    step(f"{mode}: connect")
    c = lib.client()
    await c.connect(transports=MODES[mode])
    opened = "websocket" if mode == "websocket" else "polling"
    same(await c.next("opened-with"), [opened], "server's handshake transport")

    final = "polling" if mode == "polling" else "websocket"
    step(f"{mode}: on {final}")
    await lib.until(lambda: c.transport() == final, f"transport {final} (now {c.transport()})")

    step(f"{mode}: round trips")
    for i in range(3):
        text = f"{mode} {i} {'x' * 2000} 🎉"
        same(await c.call("echo", text, mode.encode()), [text, mode.encode()], f"echo {i}")
    same(c.transport(), final, "transport after the round trips")
    check(c.connected(), "disconnected after the round trips")


lib.run(main)
