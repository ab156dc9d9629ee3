#!/usr/bin/env python3
"""User-space instructions per echo round trip and per fan-out delivery,
for sio and socketioxide measured the same way (`scripts/bench
--instructions`): each server runs under valgrind's callgrind, driven by
the load generator; a run with the work and a run without it (the same
connections, no round trips or rounds) give the server's instructions
for the work alone, divided by its count. Counts of instructions do not
move with the machine's load, so two runs of one binary agree within a
fraction of a percent (hardware counters, `perf stat -e instructions:u`,
are not available on every VM; callgrind is).

    instructions.py BIN_DIR [--servers sio,socketioxide] [--reps N] [--out FILE]
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVERS = {"sio": "server_sio", "socketioxide": "server_socketioxide"}
# (name, loadgen scenario, arguments with the work, arguments without it,
# what the work is counted in)
SCENARIOS = [
    (
        "echo, 100 clients",
        "echo",
        ["clients=100", "warmup=0", "secs=8"],
        ["clients=100", "warmup=0", "secs=0"],
        "round trip",
    ),
    (
        "fanout to 1000",
        "fanout",
        ["clients=1000", "warmup_rounds=0", "rounds=20"],
        ["clients=1000", "warmup_rounds=0", "rounds=0"],
        "delivery",
    ),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not listen in time")


def instructions(bin_dir, binary, scenario, args):
    """The server's total instructions (callgrind) over one loadgen run,
    and the loadgen's figures."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        server = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                os.path.join(bin_dir, binary),
            ],
            env={**os.environ, "PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, server)
            loadgen = subprocess.run(
                [os.path.join(bin_dir, "loadgen"), scenario, f"addr=127.0.0.1:{port}",
                 f"pid={server.pid}", *args],
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        with open(out) as f:
            text = f.read()
    total = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
    if not total:
        raise RuntimeError("no total in the callgrind output")
    return int(total.group(1)), json.loads(loadgen.stdout)


def units(figures, scenario):
    if scenario == "echo":
        return figures["round_trips"]
    return figures["clients"] * figures["rounds"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin_dir")
    parser.add_argument("--servers", default="sio,socketioxide")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--out", default=None)
    options = parser.parse_args()
    if subprocess.run(["which", "valgrind"], capture_output=True).returncode != 0:
        sys.exit("valgrind is needed (Debian: apt-get install valgrind)")
    servers = options.servers.split(",")
    results = []
    for name, scenario, work, idle, unit in SCENARIOS:
        row = {"measurement": name, "unit": f"instructions per {unit}", "runs": {}}
        for rep in range(options.reps):
            for server in servers:
                with_work, figures = instructions(options.bin_dir, SERVERS[server], scenario, work)
                without, _ = instructions(options.bin_dir, SERVERS[server], scenario, idle)
                count = units(figures, scenario)
                per = (with_work - without) / max(count, 1)
                row["runs"].setdefault(server, []).append(per)
                print(f"{name}, {server}, run {rep + 1}: {with_work} - {without} "
                      f"instructions over {count} = {per:.0f} per {unit}", flush=True)
        medians = {s: sorted(v)[len(v) // 2] for s, v in row["runs"].items()}
        row["median"] = medians
        results.append(row)
    ratios = [f"{servers[0]}/{s}" for s in servers[1:]]
    print("\n| measurement | " + " | ".join(servers + ratios) + " |")
    print("|---|" + "---:|" * (len(servers) + len(ratios)))
    for row in results:
        m = row["median"]
        cells = [f"{m[s]:.0f}" for s in servers]
        cells += [f"{m[servers[0]] / m[s]:.2f}" for s in servers[1:]]
        print(f"| {row['measurement']}, {row['unit']} | " + " | ".join(cells) + " |")
    if options.out:
        with open(options.out, "w") as f:
            json.dump(results, f, indent=2)
        print(f"JSON: {options.out}")


if __name__ == "__main__":
    main()
