"""``aikon profiles``: list the firmware profiles aikon can find, or show one."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "profiles",
        help="list firmware profiles (bundled and user)",
        description="List the firmware profiles: the bundled ones and user profiles in "
                    "$AIKON_CONFIG_DIR/profiles, $XDG_CONFIG_HOME/aikon/profiles or "
                    "~/.config/aikon/profiles (a user profile shadows a bundled one of the same name). "
                    "With NAME (or a path to a .toml file), validate that profile and show its settings.",
        epilog="examples:\n  aikon profiles\n  aikon profiles grbl-servo\n  aikon profiles ./my-plotter.toml --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="profile name or path to a .toml file to show")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _profile_dict(profile) -> dict:
    from dataclasses import asdict

    return asdict(profile)


def run(args: argparse.Namespace) -> int:
    from aikon.errors import ProfileError
    from aikon.profiles import list_profiles, load_profile, profile_source, user_profile_dir

    if args.name:
        profile = load_profile(args.name)
        if args.json:
            print(json.dumps(_profile_dict(profile), indent=2))
            return 0
        wa, m, pen = profile.work_area, profile.motion, profile.pen
        print(f"{profile.name}: {profile.description}")
        print(f"  file         {profile.source}")
        print(f"  firmware     {profile.firmware}")
        print(f"  work area    {wa.width:g} x {wa.height:g} mm, origin {wa.origin}, "
              f"X {'+' if wa.x_sign > 0 else '-'}, Y {'+' if wa.y_sign > 0 else '-'}")
        if pen.mode == "servo":
            print(f"  pen          servo: up {pen.up_command!r}, down {pen.down_command!r}")
        else:
            print(f"  pen          Z: up {pen.up_z:g} mm, down {pen.down_z:g} mm at {pen.z_speed:g} mm/s")
        print(f"  pen delays   up {pen.up_delay:g} s, down {pen.down_delay:g} s")
        print(f"  draw         {m.draw_speed:g} mm/s, {m.draw_acceleration:g} mm/s^2")
        print(f"  travel       {m.travel_speed:g} mm/s, {m.travel_acceleration:g} mm/s^2")
        print(f"  junction     {m.junction_deviation:g} mm")
        print(f"  start/end    home {'yes' if profile.start.home else 'no'}, park at "
              f"({profile.end.park[0]:g}, {profile.end.park[1]:g}) mm")
        print(f"  serial       {profile.serial.baud} baud, USB ids {', '.join(profile.serial.usb_ids) or '-'}")
        return 0

    rows = []
    for name, path, description in list_profiles():
        try:
            profile = load_profile(path)
            firmware, area = profile.firmware, f"{profile.work_area.width:g}x{profile.work_area.height:g}"
        except ProfileError:  # listed anyway, with the reason in the description
            firmware, area = "?", "?"
        rows.append({"name": name, "firmware": firmware, "area_mm": area, "source": profile_source(path),
                     "path": str(path), "description": description})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no profiles found")
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'NAME':<{width}}  {'FIRMWARE':<8}  {'AREA mm':<9}  {'SOURCE':<7}  DESCRIPTION")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['firmware']:<8}  {r['area_mm']:<9}  {r['source']:<7}  {r['description']}")
    print(f"(user profiles: {user_profile_dir()})")
    return 0
