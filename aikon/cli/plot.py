"""``aikon plot``: stream a drawing to a GRBL plotter with pause, abort, a journal and resume."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  aikon plot portrait.svg --port /dev/ttyUSB0 --profile grbl-servo
  aikon plot portrait.gcode --port /dev/ttyACM0 --journal portrait.journal.json
  aikon plot portrait.svg --sim                       (no hardware: the built-in simulator)
  aikon plot --resume portrait.journal.json --port /dev/ttyUSB0 --yes

while plotting: Ctrl-C or 'p' pauses at the next pen-up (pen lifted);
'r' or Enter resumes; a second Ctrl-C or 'q' aborts (pen lifted, head parked).
After a crash, disconnect or power loss: aikon plot --resume JOURNAL.

Before anything is sent, every move is checked against the profile's work
area (an SVG as by 'aikon gcode'; a G-code file as GRBL would run it: each
move and arc point, G91 only after an absolute position, no G28/G30), and a
file that travels before lifting the pen gets the profile's pen lift first.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plot",
        help="stream an SVG or G-code file to a GRBL plotter (or the simulator)",
        description="Stream a drawing to a GRBL 1.1 plotter: character-counting flow control, a progress "
                    "bar with time left from the motion planner, pause at the next pen-up, abort that lifts "
                    "the pen and parks, and a journal of what has executed so that --resume continues after "
                    "a crash, disconnect or power loss without drawing a stroke twice or skipping one.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", nargs="?", metavar="IN", help="drawing to plot: .svg, or .gcode/.nc/.ngc/.txt")
    parser.add_argument("--port", help="serial port or pyserial URL (/dev/ttyUSB0, COM3, socket://host:port); "
                                       "see 'aikon ports'")
    parser.add_argument("--profile", default=None, help="firmware profile name or .toml path (default grbl-servo)")
    parser.add_argument("--sim", action="store_true", help="plot to the built-in simulator instead of a port")
    parser.add_argument("--sim-speed", type=float, default=20.0, metavar="X",
                        help="with --sim: run X times faster than real time (default 20)")
    parser.add_argument("--sim-trace", metavar="OUT.json", help="with --sim: write the simulator's pen-down trace")
    parser.add_argument("--journal", metavar="PATH", help="journal file (default: IN + .journal.json)")
    parser.add_argument("--send-response", action="store_true",
                        help="send one line at a time and wait for each ok (slow; for unreliable links)")
    parser.add_argument("--resume", metavar="JOURNAL", help="continue the job recorded in JOURNAL")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation (non-interactive)")
    parser.add_argument("--fit", action="store_true", help="SVG input: scale the drawing into the work area")
    parser.add_argument("--stall-timeout", type=float, default=5.0, metavar="S",
                        help="declare the plotter stalled after S seconds without any reply (default 5)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _read_program(path: str, profile, fit: bool) -> list[str]:
    from pathlib import Path

    from aikon.errors import InputError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"input {p} not found")
    if p.suffix.lower() == ".svg":
        from aikon.geometry.svgimport import read_svg
        from aikon.output.gcode import gcode_lines

        return list(gcode_lines(read_svg(p), profile, fit=fit))
    try:
        return p.read_text(encoding="ascii").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{p} contains non-ASCII text; GRBL would take bytes >= 0x80 as real-time commands") \
            from None


class _Keys:
    """Reads single keys from a terminal in a thread ('p' pause, 'r'/Enter resume, 'q' abort)."""

    def __init__(self, controls) -> None:
        import sys
        import threading

        self.controls = controls
        self.active = False
        if not sys.stdin.isatty():
            return
        try:
            import termios
            import tty
        except ImportError:  # Windows: Ctrl-C still pauses and aborts
            return
        self._fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self.active = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import os
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                continue
            key = os.read(self._fd, 1).decode("ascii", errors="ignore").lower()
            if key == "p":
                self.controls.request_pause()
            elif key in ("r", "\n", "\r"):
                self.controls.request_resume()
            elif key == "q":
                self.controls.request_abort()

    def close(self) -> None:
        if self.active:
            import termios

            self._stop.set()
            self._thread.join(timeout=1.0)
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)


def _confirm(question: str, assume_yes: bool) -> None:
    import sys

    from aikon.errors import AikonError

    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise AikonError(f"{question} -- cannot ask without a terminal: rerun with --yes once it is so")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise AikonError("not confirmed; nothing was sent")


def _open_link(args, profile):
    """(transport, closer, simulator or None) for --sim or --port."""
    from aikon.errors import AikonError
    from aikon.plotter.transport import SerialTransport

    if args.sim:
        return _open_simulator(profile, args.sim_speed)
    if not args.port:
        raise AikonError("give --port PORT (see 'aikon ports') or --sim")
    transport = SerialTransport(args.port, profile.serial.baud)
    return transport, transport.close, None


def _open_simulator(profile, speed: float):
    """The built-in GRBL simulator in-process, paced ``speed`` times faster than real time."""
    from aikon.errors import AikonError
    from aikon.plotter.transport import SimulatorTransport

    try:
        from aikon.plotter.simulator import GrblSimulator
    except ImportError:
        raise AikonError("the simulator (aikon.plotter.simulator) is not part of this installation") from None
    if not speed > 0:
        raise AikonError("--sim-speed must be positive")
    sim = GrblSimulator(profile=profile)
    link = SimulatorTransport(sim, speed=speed, realtime=True, name="the simulator")
    return link, link.close, sim


def _write_trace(sim, path: str) -> None:
    from aikon.fileio import write_text_atomic

    write_text_atomic(path, sim.finish_trace().to_json() + "\n")


def _reestablish_position(client, profile, assume_yes: bool) -> None:
    """After a crash or power loss the position is unknown: home, or the user confirms it.

    A profile that homes runs ``$H``. Otherwise the user confirms that the
    position the board reports is where the carriage really is (after a
    power-up that is X0 Y0: the carriage must be at the origin where the job
    started); only then is an alarm lock cleared with ``$X``. Nothing is
    written to the board's settings or offsets.
    """
    from aikon.errors import FirmwareError

    status = client.query_status()
    if profile.start.home:
        print("aikon plot: homing ($H) to re-establish the position", flush=True)
        client.command("$H", timeout_s=180.0)
        return
    pos = client.work_position(status) or (0.0, 0.0)
    _confirm(f"Resuming: the plotter says the pen is at X{pos[0]:.2f} Y{pos[1]:.2f} (after power-up: the origin "
             "where the job started). Is the carriage really there, with nothing in the way?", assume_yes)
    if status.state == "Alarm":
        print("aikon plot: unlocking ($X) at the confirmed position", flush=True)
        client.command("$X")
        if client.query_status().state == "Alarm":
            raise FirmwareError("the plotter is still in alarm after unlocking; check the machine")


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    from pathlib import Path

    from aikon.errors import AikonError, FirmwareError
    from aikon.plotter.grbl import GrblClient
    from aikon.plotter.job import Controls, JobRunner, build_job, resume_program
    from aikon.plotter.journal import Journal, read_job_lines, read_journal
    from aikon.profiles import load_profile
    from aikon.progress import ProgressBar

    if args.resume:
        journal_path = Path(args.resume)
        state = read_journal(journal_path)
        if state.finished:
            print(f"aikon plot: the job in {journal_path} is already complete", file=sys.stderr)
            return 0
        profile = load_profile(args.profile or state.profile)
        original_lines = read_job_lines(state, journal_path)
        strokes_total = state.strokes_total
        job = resume_program(original_lines, profile, state.strokes_done, state.partial_mm)
        journal = Journal(journal_path, state)
        journal.update(force=True, attempts=state.attempts + 1, port="sim" if args.sim else (args.port or ""))
        source = state.source
    else:
        if not args.input:
            raise AikonError("give a drawing to plot (IN.svg or IN.gcode), or --resume JOURNAL")
        profile = load_profile(args.profile or "grbl-servo")
        if profile.firmware != "grbl":
            raise AikonError(f"profile {profile.name} is for {profile.firmware}; aikon plot streams to GRBL only "
                             "for now")
        job = build_job(_read_program(args.input, profile, args.fit), profile)
        strokes_total = len(job.strokes)
        journal_path = Path(args.journal) if args.journal else Path(str(args.input) + ".journal.json")
        journal = None  # started once the plotter answers: a job that never reached it leaves no journal
        source = str(args.input)

    transport, close_link, simulator = _open_link(args, profile)
    controls = Controls()
    previous_sigint = signal.getsignal(signal.SIGINT)
    keys = None
    bar = ProgressBar(strokes_total, "plot", enabled=False if args.quiet else None)
    try:
        clock = getattr(transport, "clock", None)
        client = GrblClient(transport, send_response=args.send_response,
                            **({"clock": clock} if callable(clock) else {}))
        version = client.connect()
        print(f"aikon plot: GRBL {version} on {'the simulator' if args.sim else args.port}; "
              f"{strokes_total} strokes, {len(job.lines)} lines from {source}; journal {journal_path}",
              file=sys.stderr, flush=True)
        if args.resume:
            _reestablish_position(client, profile, args.yes or args.sim)
        else:
            status = client.query_status()
            if status.state == "Alarm":
                raise FirmwareError("the plotter is in alarm (locked): home it ($H) or unlock it ($X) first")
            journal = Journal.start(journal_path, job.lines, source=source, profile=profile.name,
                                    port="sim" if args.sim else (args.port or ""), strokes_total=strokes_total)

        def on_sigint(*_) -> None:
            # Say at once what Ctrl-C will do: the pause itself waits for the next pen-up.
            aborting = controls.pause_requested
            controls.interrupt()
            print("\naikon plot: " + ("aborting: lifting the pen and parking" if aborting else
                                      "pausing at the next pen-up (Ctrl-C again aborts: pen lifted, parked)"),
                  file=sys.stderr, flush=True)

        signal.signal(signal.SIGINT, on_sigint)
        keys = _Keys(controls)
        if keys.active:
            print("aikon plot: 'p' pause at next pen-up, 'r' resume, 'q' abort (lifts pen, parks)",
                  file=sys.stderr, flush=True)

        def on_progress(p) -> None:
            bar.update(p.strokes_done, p.remaining_s,
                       f"strokes {p.strokes_done}/{p.strokes_total} lines {p.lines_acked}/{p.lines_total}"
                       + (" PAUSED" if p.state == "paused" else ""))

        def on_paused(runner) -> None:
            print("\naikon plot: paused with the pen up; 'r' or Enter resumes, 'q' or Ctrl-C aborts",
                  file=sys.stderr, flush=True)

        runner = JobRunner(client, job, profile, journal=journal, controls=controls, strokes_total=strokes_total,
                           on_progress=on_progress, on_paused=on_paused, stall_timeout_s=args.stall_timeout)
        final = runner.run()
        bar.close()
        print(f"aikon plot: done, {final.strokes_done} strokes drawn; journal {journal_path}", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
        if keys is not None:
            keys.close()
        close_link()
        if simulator is not None and args.sim_trace:
            _write_trace(simulator, args.sim_trace)
