"""``aikon ports``: list serial ports with their USB ids and the profile that matches."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ports",
        help="list serial ports, their USB ids and matching profiles",
        description="List the serial ports on this computer with USB VID:PID, description, and the "
                    "firmware profiles whose serial.usb_ids match (a hint for --profile). Many plotters "
                    "use generic USB-serial chips (CH340 1A86:7523, FTDI 0403:6001), so a match is a hint, "
                    "not a proof.",
        epilog="examples:\n  aikon ports\n  aikon ports --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from dataclasses import asdict

    from aikon.plotter.ports import list_ports

    ports = list_ports()
    if args.json:
        print(json.dumps([asdict(p) for p in ports], indent=2))
        return 0
    if not ports:
        print("no serial ports found (is the plotter plugged in and switched on?)", file=sys.stderr)
        return 0
    width = max(len(p.device) for p in ports)
    for p in ports:
        profiles = ", ".join(p.profiles) if p.profiles else "-"
        print(f"{p.device:<{width}}  {p.usb_id or '-':<9}  {p.description or '-'}  [profiles: {profiles}]")
    return 0
