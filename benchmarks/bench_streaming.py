"""Streaming benchmark: character counting against send-response, through a pty to the GRBL simulator.

A job of 5,000 short segments (0.25 mm, one long zigzag) is streamed twice in
the same run, by the real host stack (SerialTransport on a pseudo-terminal,
GrblClient, JobRunner) to the simulator served on the pty's other side and
running ``--speed`` times faster than real time:

* character counting (the default): lines in flight up to the 128-byte RX buffer;
* send-response: one line at a time.

Printed: the plot time on the simulated machine (virtual seconds, what a user
would wait at speed 1), the wall time, their ratios (target >= 3x), and the
mean RX-buffer fill counted by the host while the simulator's planner had
room for more blocks (target >= 90%: the host, not the link, keeps it fed).

The serial line is modelled in machine time (115200 baud, 2 ms USB latency
each way by default), since a pty itself delivers bytes instantly.

Run: python benchmarks/bench_streaming.py [--segments 5000] [--speed 2] [--latency-ms 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pty
import select
import time
import tty

from aikon.plotter.grbl import GrblClient
from aikon.plotter.job import JobRunner, build_job
from aikon.plotter.simulator import GrblSimulator
from aikon.plotter.transport import SerialTransport
from aikon.profiles import load_profile


def _serve(conn, speed: float, baud: float, latency_s: float, planner_room, machine_time, stop) -> None:
    """Child process: serve a simulator on a pty, its clock running ``speed`` x real time.

    A separate process, as ``aikon simulate`` would be, so the simulator does not
    compete with the host for the interpreter lock. A pty delivers bytes at once;
    a real link does not, so the serial line is modelled in machine time: each
    byte takes 10 bits at ``baud`` on the wire and every transfer waits
    ``latency_s`` more (USB-serial adapters deliver in frames).
    """
    from collections import deque

    sim = GrblSimulator(profile=load_profile("grbl-servo"))
    master, slave = pty.openpty()
    tty.setraw(slave)
    conn.send(os.ttyname(slave))
    to_sim: deque = deque()
    to_host: deque = deque()
    wire_free = {"in": 0.0, "out": 0.0}

    def queue(q, direction: str, data: bytes) -> None:
        start = max(sim.time, wire_free[direction])
        wire_free[direction] = start + len(data) * 10.0 / baud
        q.append((wire_free[direction] + latency_s, data))

    last = time.perf_counter()
    while not stop.is_set():
        ready, _, _ = select.select([master], [], [], 0.0002)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            queue(to_sim, "in", data)
        now = time.perf_counter()
        sim.advance((now - last) * speed)
        last = now
        while to_sim and to_sim[0][0] <= sim.time:
            sim.feed(to_sim.popleft()[1])
        out = sim.read()
        if out:
            queue(to_host, "out", out)
        while to_host and to_host[0][0] <= sim.time:
            os.write(master, to_host.popleft()[1])
        planner_room.value = 0 if sim.planner.is_full else 1
        machine_time.value = sim.time
    conn.send({"overflows": sim.rx_overflows, "lines_ok": sim.trace.lines_ok, "strokes": len(sim.strokes())})
    os.close(slave)
    os.close(master)


class PtySimulator:
    def __init__(self, speed: float, baud: float, latency_s: float) -> None:
        ctx = mp.get_context("fork")
        self.planner_room = ctx.Value("i", 1, lock=False)
        self.machine_time = ctx.Value("d", 0.0, lock=False)
        self.stop = ctx.Event()
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, speed, baud, latency_s, self.planner_room, self.machine_time, self.stop),
                                daemon=True)
        self.proc.start()
        self.path = self.conn.recv()

    def close(self) -> dict:
        self.stop.set()
        stats = self.conn.recv()
        self.proc.join(timeout=10)
        return stats


def zigzag(segments: int, step_mm: float = 0.5) -> list[str]:
    lines = ["G21 G90", "M3 S30", "G4 P0.15", "G0 X20 Y20", "M3 S90", "G4 P0.15"]
    x, y = 20.0, 20.0
    for i in range(segments):
        x += step_mm * 0.8
        y += step_mm * 0.6 * (1 if (i // 20) % 2 == 0 else -1)
        if x > 280:
            x = 20.0
        lines.append(f"G1 X{x:.3f} Y{y:.3f}" + (" F3000" if i == 0 else ""))
    lines += ["M3 S30", "G4 P0.15", "G0 X0 Y0"]
    return lines


def stream(job, profile, *, send_response: bool, speed: float, baud: float, latency_s: float) -> dict:
    served = PtySimulator(speed, baud, latency_s)
    link = SerialTransport(served.path, 115200)
    fills: list[float] = []
    try:
        client = GrblClient(link, send_response=send_response)
        client.connect(banner_timeout_s=5)

        def sample(in_flight: int) -> None:
            # the host's counted RX fill as it waits for the next ok with lines left to send,
            # counted only while the simulator's planner could take more blocks
            if served.planner_room.value:
                fills.append(in_flight / client.rx_buffer_bytes)

        runner = JobRunner(client, job, profile, on_fill=sample, stall_timeout_s=30)
        sim_start, wall_start = served.machine_time.value, time.perf_counter()
        runner.run()
        wall = time.perf_counter() - wall_start
        machine = served.machine_time.value - sim_start
    finally:
        link.close()
        stats = served.close()
    return {"machine_s": machine, "wall_s": wall, "fill": sum(fills) / max(len(fills), 1),
            "max_in_flight": client.max_in_flight_bytes, **stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=5000)
    parser.add_argument("--speed", type=float, default=2.0, help="simulator speed factor")
    parser.add_argument("--segment", type=float, default=0.25, help="segment length, mm")
    parser.add_argument("--baud", type=float, default=115200.0)
    parser.add_argument("--latency-ms", type=float, default=2.0,
                        help="USB-serial latency per transfer, each way (FTDI default timer: 16 ms)")
    args = parser.parse_args()
    profile = load_profile("grbl-servo")
    job = build_job(zigzag(args.segments, args.segment), profile)
    print(f"link: {args.baud:g} baud, {args.latency_ms:g} ms latency each way; simulator at {args.speed:g}x")
    print(f"job: {args.segments} segments of {args.segment:g} mm, {len(job.lines)} lines, planner estimate {job.total_s:.1f} s")
    link = {"speed": args.speed, "baud": args.baud, "latency_s": args.latency_ms / 1000.0}
    counting = stream(job, profile, send_response=False, **link)
    response = stream(job, profile, send_response=True, **link)
    for name, r in (("character counting", counting), ("send-response", response)):
        print(f"{name:>18}: machine {r['machine_s']:7.1f} s  wall {r['wall_s']:6.2f} s  "
              f"mean RX fill while planner has room {100 * r['fill']:5.1f}%  max in flight {r['max_in_flight']} B  "
              f"overflows {r['overflows']}  lines ok {r['lines_ok']}")
    print(f"speed ratio (machine time, send-response / counting): {response['machine_s'] / counting['machine_s']:.2f}x "
          f"(target >= 3x)")
    print(f"speed ratio (wall time at --speed {args.speed:g}): {response['wall_s'] / counting['wall_s']:.2f}x")
    print(f"mean RX buffer fill with counting while the planner has room: {100 * counting['fill']:.1f}% "
          f"(target >= 90%)")


if __name__ == "__main__":
    main()
