"""Shared helpers of the python-socketio scenario scripts.

A script is `python <scenario>.py <server url> <sync|async> [mode]`: it
writes one `async def main()` and calls `run(main)`. `client()` makes a
python-socketio `Client` (sync, threads, requests + websocket-client) or
`AsyncClient` (asyncio, aiohttp), as the second argument says, behind one
async facade, so each scenario is written once and runs on both. The sync
client's blocking calls run in worker threads; its handlers run in its own
threads and hand what they got to the event loop.

Output protocol (read by the runner, as for the npm scripts): `FAIL:
<reason>` and exit 1 on failure, `NOTE <text>` for observations, `KNOWN
<text>` for a known difference of this client (one it shows against the
Node server too; see conformance/clients/KNOWN-DIFFERENCES.md).
"""

import asyncio
import json
import os
import sys
import threading
import time

import socketio

if len(sys.argv) < 3 or sys.argv[2] not in ("sync", "async"):
    print("FAIL: usage: python <script> <server url> <sync|async> [mode]")
    sys.exit(2)

URL = sys.argv[1]
KIND = sys.argv[2]
ARGS = sys.argv[3:]
WAIT = 5.0
HARD_TIMEOUT = float(os.environ.get("CLIENT_TIMEOUT_MS", "15000")) / 1000

_step = "start"

if os.environ.get("SIO_PY_DEBUG"):
    import logging

    logging.basicConfig(level=logging.DEBUG, format="%(relativeCreated)d %(threadName)s %(message)s")
    import faulthandler

    faulthandler.dump_traceback_later(HARD_TIMEOUT - 1)


class Failure(Exception):
    pass


def step(name):
    global _step
    _step = name


def note(text):
    print(f"NOTE {text}", flush=True)


def known(text):
    print(f"KNOWN {text}", flush=True)


def check(condition, what):
    if not condition:
        raise Failure(what)


def canon(v):
    """Exact text of a value (key order kept); bytes as bin(hex)."""
    if isinstance(v, (bytes, bytearray)):
        return f"bin({bytes(v).hex()})"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{canon(x)}" for k, x in v.items()) + "}"
    return json.dumps(v, ensure_ascii=False)


def _short(text):
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} chars)"


def same(actual, expected, what):
    a, e = canon(actual), canon(expected)
    if a != e:
        raise Failure(f"{what}: expected {_short(e)}, got {_short(a)}")


async def until(predicate, what, timeout=WAIT):
    """Waits until `predicate()` holds, looking again every 20 ms."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not reached within {timeout:.0f} s")
        await asyncio.sleep(0.02)


class Client:
    """One python-socketio client (sync or async) behind async methods.

    Every event of the namespaces it is made for is recorded (argument
    lists, in order of arrival) unless a handler of the scenario takes it;
    `answer(event, fn, ns)` sets such a handler, whose return value is the
    ack python-socketio sends.
    """

    def __init__(self, namespaces=("/",), **options):
        options.setdefault("reconnection", False)
        if os.environ.get("SIO_PY_DEBUG"):
            options.update(logger=True, engineio_logger=True)
        self.sync = KIND == "sync"
        self.sio = socketio.Client(**options) if self.sync else socketio.AsyncClient(**options)
        self.loop = asyncio.get_running_loop()
        self.lock = threading.Lock()
        self.inbox = {}
        self.namespaces = list(namespaces)
        for ns in self.namespaces:
            self._record_all(ns)

    def _put(self, ns, event, args):
        with self.lock:
            self.inbox.setdefault((ns, event), []).append(list(args))

    def _record_all(self, ns):
        def any_event(event, *args):
            self._put(ns, event, args)

        self.sio.on("*", any_event, namespace=ns)
        for event in ("connect", "connect_error", "disconnect"):
            self.sio.on(event, self._recorder(ns, event), namespace=ns)

    def _recorder(self, ns, event):
        return lambda *args: self._put(ns, event, args)

    def answer(self, event, fn, ns="/"):
        """Handles `event` with `fn` (its return value is the ack), recording it too."""

        def handler(*args):
            self._put(ns, event, args)
            return fn(*args)

        self.sio.on(event, handler, namespace=ns)

    def received(self, event, ns="/"):
        with self.lock:
            return [list(a) for a in self.inbox.get((ns, event), [])]

    def take(self, event, ns="/"):
        with self.lock:
            return self.inbox.pop((ns, event), [])

    async def next(self, event, ns="/", timeout=WAIT):
        """The arguments of the first `event` not taken yet (waits for it)."""
        await until(lambda: self.received(event, ns), f'"{event}" on {ns}', timeout)
        with self.lock:
            return self.inbox[(ns, event)].pop(0)

    async def _call(self, fn, *args, **kwargs):
        if self.sync:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return await fn(*args, **kwargs)

    async def connect(self, url=None, **kwargs):
        kwargs.setdefault("namespaces", self.namespaces)
        kwargs.setdefault("wait_timeout", WAIT)
        await self._call(self.sio.connect, url or URL, **kwargs)

    async def emit(self, event, *args, ns="/"):
        await self._call(self.sio.emit, event, tuple(args), namespace=ns)

    async def call(self, event, *args, ns="/", timeout=WAIT):
        """Emits with an ack; the ack's arguments as a list."""
        done = asyncio.Event()
        reply = []

        def on_ack(*ack_args):
            reply.extend(ack_args)
            self.loop.call_soon_threadsafe(done.set)

        await self._call(self.sio.emit, event, tuple(args), namespace=ns, callback=on_ack)
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except asyncio.TimeoutError:
            raise Failure(f'no ack for "{event}" within {timeout:.0f} s') from None
        return reply

    async def library_call(self, event, *args, ns="/", timeout=WAIT):
        """python-socketio's own `call` (its own timeout and result shape)."""
        return await self._call(self.sio.call, event, tuple(args), namespace=ns, timeout=timeout)

    async def disconnect(self):
        await self._call(self.sio.disconnect)

    async def close_engine(self):
        """Closes the Engine.IO connection without Socket.IO DISCONNECTs."""
        await self._call(self.sio.eio.disconnect)

    def sid(self, ns="/"):
        return self.sio.get_sid(ns)

    def transport(self):
        return self.sio.transport()

    def connected(self, ns="/"):
        return ns in self.sio.namespaces


def client(namespaces=("/",), **options):
    return Client(namespaces, **options)


def run(main):
    async def guarded():
        # Clients still connected at the end are not disconnected: the
        # process exits and the server sees the transports close.
        await asyncio.wait_for(main(), HARD_TIMEOUT)

    # Not asyncio.run: it would wait for the sync client's worker threads,
    # which a hung call may never release; the process exits instead.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(guarded())
    except asyncio.TimeoutError:
        print(f"FAIL: {_step}: script timed out after {HARD_TIMEOUT:.0f} s", flush=True)
        os._exit(1)
    except Failure as e:
        print(f"FAIL: {_step}: {e}", flush=True)
        os._exit(1)
    except Exception as e:  # noqa: BLE001 - any error fails the step
        print(f"FAIL: {_step}: {type(e).__name__}: {e}", flush=True)
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)
