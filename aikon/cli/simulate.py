"""``aikon simulate``: a virtual GRBL 1.1 plotter on a pseudo-terminal, or a G-code file run through it."""

from __future__ import annotations

import argparse
import signal
import sys

from aikon.errors import AikonError, InputError

EPILOG = """examples:
  aikon simulate --profile grbl-servo --pty /tmp/plotter --speed 50 --trace trace.json --render trace.png
      (then, in another terminal: aikon plot portrait.gcode --port /tmp/plotter)
  aikon simulate --profile grbl-servo --pty /tmp/plotter --fault disconnect-at=120 --fault garble-rate=0.001
  aikon simulate --profile grbl-servo portrait.gcode --trace trace.json
      (streams the file with character counting on the virtual clock and prints the machine time)

faults (N counts every line the firmware answers, from 1; each fires once):
  disconnect-at=N     the board loses power after receiving line N (the pty closes; reconnect to LINK)
  error-at=N[:CODE]   line N is answered error:CODE (default 20) and not run
  alarm-at=N[:CODE]   ALARM:CODE (default 1, hard limit) half way through line N; needs a reset
  garble-rate=P       each byte in either direction is corrupted with probability P (seeded by --seed)
  stall-at=N          the firmware hangs after line N until the port is reopened
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "simulate",
        help="a virtual GRBL plotter on a pseudo-terminal (or run a G-code file through it)",
        description="Serve a simulated GRBL 1.1 pen plotter on a pseudo-terminal that any sender can open "
                    "like a serial port: banner, 128-byte RX buffer, 15-block planner, ok/error/ALARM, "
                    "status reports, real-time commands, GRBL's line and word rules, motion timed with "
                    "acceleration. Ctrl-C stops it and writes the trace. With a G-code FILE instead of "
                    "--pty, the file is streamed through the simulator on its virtual clock.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("gcode", nargs="?", metavar="FILE", help="G-code file to run through the simulator "
                        "(instead of --pty)")
    parser.add_argument("--profile", default="grbl-servo", help="firmware profile name or TOML path "
                        "(default: grbl-servo); gives the $ settings, pen and work area")
    parser.add_argument("--pty", metavar="LINK", help="create a pseudo-terminal and make LINK a symlink to it")
    parser.add_argument("--speed", type=float, default=1.0, help="virtual seconds per real second "
                        "(default 1; 50 runs fifty times faster than the machine)")
    parser.add_argument("--trace", metavar="OUT.json", help="write the executed pen-down strokes and events")
    parser.add_argument("--render", metavar="OUT.png", help="draw the executed strokes to a PNG")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND=N",
                        help="inject a fault (repeatable; see below)")
    parser.add_argument("--seed", type=int, default=0, help="seed for garble-rate (default 0)")
    parser.add_argument("--set", action="append", default=[], metavar="N=V", dest="settings",
                        help="override a GRBL $ setting, e.g. --set 22=1 to enable homing (repeatable)")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S real seconds (--pty)")
    parser.set_defaults(func=run)


def _parse_settings(items: list[str]) -> dict[int, float]:
    settings: dict[int, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            settings[int(key.lstrip("$"))] = float(value)
        except ValueError:
            raise AikonError(f"--set needs N=VALUE (a GRBL $ setting), not {item!r}") from None
        if not sep:
            raise AikonError(f"--set needs N=VALUE (a GRBL $ setting), not {item!r}")
    return settings


def run(args: argparse.Namespace) -> int:
    from aikon.plotter.simulator import Fault, GrblSimulator
    from aikon.profiles import load_profile

    if bool(args.pty) == bool(args.gcode):
        raise AikonError("give either --pty LINK (serve a virtual plotter) or a G-code FILE (run it), not both")
    if args.speed <= 0:
        raise AikonError("--speed must be positive")
    profile = load_profile(args.profile)
    if profile.firmware != "grbl":
        raise AikonError(f"profile {profile.name} is for {profile.firmware}; the simulator speaks GRBL 1.1")
    try:
        faults = [Fault.parse(text) for text in args.fault]
    except ValueError as exc:
        raise AikonError(f"--fault: {exc}") from None
    sim = GrblSimulator(profile=profile, settings=_parse_settings(args.settings), faults=faults, seed=args.seed)
    try:
        if args.gcode:
            _run_file(sim, args)
        else:
            _serve(sim, args)
    finally:  # the trace is written even when a fault stopped the job: it shows what was drawn
        _write_outputs(sim, profile, args)
    return 0


def _write_outputs(sim, profile, args: argparse.Namespace) -> None:
    trace = sim.finish_trace()
    if args.trace:
        from aikon.fileio import write_text_atomic

        write_text_atomic(args.trace, trace.to_json(profile=profile.name, virtual_time_s=round(sim.time, 6)) + "\n")
    if args.render:
        render_trace(trace.strokes, args.render, work_area=(profile.work_area.machine_x_range,
                                                            profile.work_area.machine_y_range))


def _run_file(sim, args: argparse.Namespace) -> None:
    from aikon.plotter import grbl_codes as codes
    from aikon.plotter.simulator import stream_counted

    try:
        with open(args.gcode, encoding="ascii", errors="strict") as fh:
            lines = [line.rstrip("\r\n") for line in fh]
    except FileNotFoundError:
        raise InputError(f"{args.gcode}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{args.gcode}: not ASCII text (GRBL would act on non-ASCII bytes as real-time commands)"
                         ) from None
    except OSError as exc:
        raise InputError(f"{args.gcode}: {exc.strerror}") from None
    result = stream_counted(sim, lines)
    if result.stopped == "alarm":
        raise AikonError(f"the simulated machine stopped: {codes.alarm_message(result.alarm_code or 0)}")
    if result.stopped == "time limit":
        raise AikonError(f"the simulated machine did not finish within {result.seconds:.0f} virtual seconds")
    if result.stopped is not None:
        raise AikonError(f"the simulated machine stopped answering after line {sim.trace.lines_received}")
    errors = [f"line {line}: {codes.error_message(code)}" for line, code in result.errors]
    drawn = sum(len(s) - 1 for s in sim.trace.strokes)
    print(f"{len(lines)} lines, {len(sim.trace.strokes)} strokes ({drawn} segments) drawn, "
          f"machine time {sim.time:.1f} s", file=sys.stderr)
    for message in errors[:10]:
        print(message, file=sys.stderr)
    if errors:
        raise AikonError(f"{len(errors)} line(s) answered with an error")


def _serve(sim, args: argparse.Namespace) -> None:
    import threading

    from aikon.plotter.pty_link import PtySimulator

    server = PtySimulator(sim, speed=args.speed, link=args.pty)

    def handle(signum, frame):  # noqa: ARG001 - signal signature
        server.request_stop()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"virtual GRBL plotter ({args.profile}) on {server.path} -> {server.slave_path}, speed x{args.speed:g}; "
          f"Ctrl-C to stop", file=sys.stderr)
    timer = None
    if args.duration:
        timer = threading.Timer(args.duration, server.request_stop)
        timer.daemon = True
        timer.start()
    try:
        server.serve_forever()
    finally:
        if timer is not None:
            timer.cancel()
        server.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
    print(f"stopped after {sim.time:.1f} virtual s: {sim.trace.lines_received} lines received, "
          f"{len(sim.trace.strokes)} strokes drawn", file=sys.stderr)


def render_trace(strokes, path: str, *, work_area=None, px_per_mm: float = 4.0, max_px: int = 2400) -> None:
    """Draw strokes (machine mm, y up) into a PNG, written atomically.

    The image shows the machine seen from above: x to the right, machine y up,
    the work area outlined when given.
    """
    from PIL import Image, ImageDraw

    from aikon.fileio import atomic_output

    xs = [p[0] for s in strokes for p in s]
    ys = [p[1] for s in strokes for p in s]
    if work_area is not None:
        (x0, x1), (y0, y1) = work_area
        xs += [x0, x1]
        ys += [y0, y1]
    if not xs:
        xs, ys = [0.0, 100.0], [0.0, 100.0]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    margin = 5.0
    scale = min(px_per_mm, max_px / max(x1 - x0 + 2 * margin, 1e-6), max_px / max(y1 - y0 + 2 * margin, 1e-6))
    width = int((x1 - x0 + 2 * margin) * scale) + 1
    height = int((y1 - y0 + 2 * margin) * scale) + 1
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def px(p):
        return ((p[0] - x0 + margin) * scale, height - 1 - (p[1] - y0 + margin) * scale)

    if work_area is not None:
        (ax0, ax1), (ay0, ay1) = work_area
        draw.rectangle([px((ax0, ay1)), px((ax1, ay0))], outline=(200, 200, 200))
    for stroke in strokes:
        if len(stroke) >= 2:
            draw.line([px(p) for p in stroke], fill="black", width=max(1, int(round(0.3 * scale))))
    with atomic_output(path, "wb") as fh:
        image.save(fh, format="PNG")
