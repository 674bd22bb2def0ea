"""Firmware profiles: each plotter described as data, validated into frozen objects.

A profile is a TOML file. The bundled ones live in ``firmware_profiles/``
(``grbl-servo``, ``grbl-z``, ``marlin-servo``, ``marlin-z``, ``axidraw-v3``);
user profiles are any TOML file given by path, or ``*.toml`` files in the
per-user profile directory (the first that is set of
``$AIKON_CONFIG_DIR/profiles``, ``$XDG_CONFIG_HOME/aikon/profiles``,
``~/.config/aikon/profiles``). A user profile with the name of a bundled one
shadows it.

A user profile may start with ``inherits = "grbl-servo"`` and give only the
keys it changes (tables are merged key by key).

Every key is checked on load: unknown keys, missing keys, wrong types, wrong
units and impossible values raise :class:`aikon.errors.ProfileError` naming
the file and the key, so a typo never reaches a machine.

Units: millimetres, seconds, mm/s and mm/s^2.

Machine coordinates
-------------------
``work_area.origin`` is the corner of the work area where the machine's
``(0, 0)`` is, seen from above with the back of the machine at the top of
the page: ``top-left``, ``top-right``, ``bottom-left``, ``bottom-right`` (or
the synonyms ``back-left``, ``back-right``, ``front-left``, ``front-right``).
``x_sign``/``y_sign`` say whether machine coordinates grow (+1) or shrink (-1)
going from the origin into the work area (GRBL machines homed to the back
right often work in negative coordinates). The paper is placed with its
corner on the origin corner; :meth:`Profile.frame` gives the page <-> machine
transform the machine writers use.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from aikon.errors import ProfileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FIRMWARES = ("grbl", "marlin", "ebb")
PEN_MODES = ("servo", "z")
ORIGINS = ("top-left", "top-right", "bottom-left", "bottom-right")
_ORIGIN_SYNONYMS = {"back-left": "top-left", "back-right": "top-right",
                    "front-left": "bottom-left", "front-right": "bottom-right"}
LINE_ENDINGS = ("\n", "\r", "\r\n")
# What each firmware's G4 P word means (GRBL: seconds, Marlin: milliseconds).
DWELL_UNITS = {"grbl": "s", "marlin": "ms"}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class WorkArea:
    """Reachable area of the machine in mm and where its origin is.

    Attributes
    ----------
    width, height : float
        Size in mm along page x (left to right) and page y (top to bottom).
    origin : str
        Corner holding machine ``(0, 0)``: one of :data:`ORIGINS`.
    x_sign, y_sign : int
        +1 if machine coordinates grow from the origin into the area, -1 if they shrink.
    """

    width: float
    height: float
    origin: str
    x_sign: int
    y_sign: int

    @property
    def machine_x_range(self) -> tuple[float, float]:
        """Allowed machine X interval ``(min, max)`` in mm."""
        return (0.0, self.width) if self.x_sign > 0 else (-self.width, 0.0)

    @property
    def machine_y_range(self) -> tuple[float, float]:
        """Allowed machine Y interval ``(min, max)`` in mm."""
        return (0.0, self.height) if self.y_sign > 0 else (-self.height, 0.0)


@dataclass(frozen=True)
class PenConfig:
    """How the pen goes up and down.

    Attributes
    ----------
    mode : str
        ``"servo"`` (commands) or ``"z"`` (a Z axis moved to heights).
    up_command, down_command : str or None
        Servo mode: the firmware command for pen up / pen down (e.g. ``M3 S30``).
    up_z, down_z : float or None
        Z mode: heights in mm for pen up / pen down.
    z_speed : float or None
        Z mode: Z feed in mm/s.
    z_acceleration : float or None
        Z mode: Z acceleration in mm/s^2 (GRBL ``$122``).
    up_delay, down_delay : float
        Dwell in seconds after the pen goes up / down (lets the servo settle).
    """

    mode: str
    up_delay: float
    down_delay: float
    up_command: str | None = None
    down_command: str | None = None
    up_z: float | None = None
    down_z: float | None = None
    z_speed: float | None = None
    z_acceleration: float | None = None

    @property
    def z_travel_time(self) -> float:
        """Seconds a Z pen takes between its heights (0 for a servo).

        A trapezoid from rest to rest: ``L/v + v/a``, or ``2*sqrt(L/a)`` when
        the move is too short to reach ``z_speed``.
        """
        if self.mode != "z":
            return 0.0
        return move_time(abs(self.up_z - self.down_z), self.z_speed, self.z_acceleration)  # type: ignore[arg-type]


def move_time(length: float, speed: float, acceleration: float) -> float:
    """Seconds for a straight move of ``length`` mm from rest to rest (mm/s, mm/s^2)."""
    if length <= 0:
        return 0.0
    if length >= speed * speed / acceleration:
        return length / speed + speed / acceleration
    return 2.0 * math.sqrt(length / acceleration)


@dataclass(frozen=True)
class MotionConfig:
    """Speeds in mm/s, accelerations in mm/s^2 and GRBL's junction deviation in mm."""

    draw_speed: float
    travel_speed: float
    draw_acceleration: float
    travel_acceleration: float
    junction_deviation: float


@dataclass(frozen=True)
class StartConfig:
    """Start of a job: the pen is always lifted first; ``home`` adds a homing cycle."""

    home: bool


@dataclass(frozen=True)
class EndConfig:
    """End of a job: the pen is always lifted; then the head parks at ``park`` (machine mm)."""

    park: tuple[float, float]


@dataclass(frozen=True)
class SerialConfig:
    """How to talk to the board: baud rate, line ending sent, USB ``VID:PID`` ids (upper-case hex)."""

    baud: int
    line_ending: str
    usb_ids: tuple[str, ...]


@dataclass(frozen=True)
class GcodeConfig:
    """G-code dialect details.

    Attributes
    ----------
    decimals : int
        Decimal places written for coordinates (3 = micrometres).
    max_line_length : int
        Longest line the firmware accepts (GRBL: 79 characters).
    comments : bool
        Whether ``;`` comments may appear in the output.
    dwell_units : str
        Unit of ``G4 P``: ``"s"`` (GRBL) or ``"ms"`` (Marlin).
    travel_command : str
        ``"G0"`` (rapid; on GRBL at the machine's max rate, so set ``travel_speed``
        to ``$110``/60) or ``"G1"`` (at ``travel_speed``).
    """

    decimals: int
    max_line_length: int
    comments: bool
    dwell_units: str
    travel_command: str


@dataclass(frozen=True)
class EbbConfig:
    """EiBotBoard machine data (AxiDraw class).

    Attributes
    ----------
    steps_per_mm : float
        Motor steps per mm at the chosen microstepping.
    microstepping : int
        ``EM`` mode: 1 = 1/16, 2 = 1/8, 3 = 1/4, 4 = 1/2, 5 = full step.
    servo_up, servo_down : int
        ``SC,4`` / ``SC,5`` pen positions in units of 83.3 ns.
    servo_rate_up, servo_rate_down : int
        ``SC,11`` / ``SC,12`` servo rates (EBB units).
    min_step_rate, max_step_rate : float
        Step rates per motor the board can produce, steps/s.
    """

    steps_per_mm: float
    microstepping: int
    servo_up: int
    servo_down: int
    servo_rate_up: int
    servo_rate_down: int
    min_step_rate: float
    max_step_rate: float


@dataclass(frozen=True)
class MachineFrame:
    """Page <-> machine coordinate transform for one page placed on one machine.

    The page corner matching ``work_area.origin`` sits on machine ``(0, 0)``.
    Machine ``X = x_sign * (distance from the origin edge along page x)``, same for Y.
    """

    work_area: WorkArea
    page_width: float
    page_height: float

    def _parts(self) -> tuple[float, float, float, float]:
        origin = self.work_area.origin
        # page x measured from the origin's edge: u = a + b*x ; same for y
        bx = -1.0 if origin.endswith("right") else 1.0
        ax = self.page_width if bx < 0 else 0.0
        by = -1.0 if origin.startswith("bottom") else 1.0
        ay = self.page_height if by < 0 else 0.0
        return ax, bx, ay, by

    def to_machine(self, points: np.ndarray) -> np.ndarray:
        """Page points ``(N, 2)`` mm (y down, top-left origin) -> machine ``(N, 2)`` mm."""
        pts = np.asarray(points, dtype=np.float64)
        ax, bx, ay, by = self._parts()
        out = np.empty_like(pts)
        out[..., 0] = self.work_area.x_sign * (ax + bx * pts[..., 0])
        out[..., 1] = self.work_area.y_sign * (ay + by * pts[..., 1])
        return out

    def to_page(self, points: np.ndarray) -> np.ndarray:
        """Machine points ``(N, 2)`` mm -> page ``(N, 2)`` mm (inverse of :meth:`to_machine`)."""
        pts = np.asarray(points, dtype=np.float64)
        ax, bx, ay, by = self._parts()
        out = np.empty_like(pts)
        out[..., 0] = (self.work_area.x_sign * pts[..., 0] - ax) / bx
        out[..., 1] = (self.work_area.y_sign * pts[..., 1] - ay) / by
        return out


@dataclass(frozen=True)
class Profile:
    """One plotter, as loaded from a TOML profile. See the module docstring for the keys."""

    name: str
    description: str
    firmware: str
    units: str
    work_area: WorkArea
    pen: PenConfig
    motion: MotionConfig
    start: StartConfig
    end: EndConfig
    serial: SerialConfig
    gcode: GcodeConfig | None
    ebb: EbbConfig | None
    source: str

    def frame(self, page_width: float, page_height: float) -> MachineFrame:
        """The page -> machine transform for a page of this size (mm) on this machine."""
        return MachineFrame(self.work_area, float(page_width), float(page_height))

    @property
    def max_line_length(self) -> int | None:
        return self.gcode.max_line_length if self.gcode else None


# --------------------------------------------------------------------------- schema

# key -> (kind, required). Kinds: "str", "float", "int", "bool", "point", "str_list".
_SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "": {"name": ("str", True), "description": ("str", True), "firmware": ("str", True),
         "units": ("str", True), "inherits": ("str", False)},
    "work_area": {"width": ("float", True), "height": ("float", True), "origin": ("str", True),
                  "x_sign": ("int", True), "y_sign": ("int", True)},
    "pen": {"mode": ("str", True), "up_delay": ("float", True), "down_delay": ("float", True),
            "up_command": ("str", False), "down_command": ("str", False),
            "up_z": ("float", False), "down_z": ("float", False), "z_speed": ("float", False),
            "z_acceleration": ("float", False)},
    "motion": {"draw_speed": ("float", True), "travel_speed": ("float", True),
               "draw_acceleration": ("float", True), "travel_acceleration": ("float", True),
               "junction_deviation": ("float", True)},
    "start": {"home": ("bool", True)},
    "end": {"park": ("point", True)},
    "serial": {"baud": ("int", True), "line_ending": ("str", True), "usb_ids": ("str_list", True)},
    "gcode": {"decimals": ("int", True), "max_line_length": ("int", True), "comments": ("bool", True),
              "dwell_units": ("str", True), "travel_command": ("str", True)},
    "ebb": {"steps_per_mm": ("float", True), "microstepping": ("int", True),
            "servo_up": ("int", True), "servo_down": ("int", True),
            "servo_rate_up": ("int", True), "servo_rate_down": ("int", True),
            "min_step_rate": ("float", True), "max_step_rate": ("float", True)},
}
_TABLES = tuple(t for t in _SCHEMA if t)
# Tables needed by each firmware (others are forbidden, so a stray table is caught).
_FIRMWARE_TABLES = {"grbl": ("work_area", "pen", "motion", "start", "end", "serial", "gcode"),
                    "marlin": ("work_area", "pen", "motion", "start", "end", "serial", "gcode"),
                    "ebb": ("work_area", "pen", "motion", "start", "end", "serial", "ebb")}
_KIND_NAMES = {"str": "a string", "float": "a number", "int": "an integer", "bool": "true or false",
               "point": "a list of two numbers [x, y]", "str_list": "a list of strings"}


class _Checker:
    """Validation helpers that name the file and the key in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ProfileError:
        return ProfileError(f"profile {self.source}: {key}: {message}")

    def typed(self, key: str, value: Any, kind: str) -> Any:
        ok: bool
        if kind == "str":
            ok = isinstance(value, str)
        elif kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok:
                value = float(value)
                if not math.isfinite(value):
                    raise self.fail(key, "must be a finite number")
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "point":
            ok = (isinstance(value, list) and len(value) == 2
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
            if ok:
                value = (float(value[0]), float(value[1]))
        elif kind == "str_list":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            if ok:
                value = tuple(value)
        else:  # pragma: no cover - schema bug
            raise AssertionError(kind)
        if not ok:
            got = type(value).__name__
            if isinstance(value, str):
                got = f"the string {value!r} (write the number without quotes or units)" if kind == "float" else f"string {value!r}"
            raise self.fail(key, f"must be {_KIND_NAMES[kind]}, got {got}")
        return value

    def positive(self, key: str, value: float) -> float:
        if not value > 0:
            raise self.fail(key, f"must be greater than 0, got {value}")
        return value

    def non_negative(self, key: str, value: float) -> float:
        if value < 0:
            raise self.fail(key, f"must not be negative, got {value}")
        return value

    def choice(self, key: str, value: str, choices: Sequence[str]) -> str:
        if value not in choices:
            shown = ", ".join(repr(c) for c in choices)
            raise self.fail(key, f"must be one of {shown}, got {value!r}")
        return value

    def command(self, key: str, value: str) -> str:
        if not value.strip():
            raise self.fail(key, "must not be empty")
        if not value.isascii() or any(ord(c) < 32 or c in "?!~;()" for c in value):
            raise self.fail(key, f"must be plain ASCII without control characters, comments or the "
                                 f"real-time characters ? ! ~, got {value!r}")
        return value.strip()


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ProfileError(f"profile {path}: file not found") from None
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path}: not valid TOML: {exc}") from None


def _resolve_inherits(data: dict[str, Any], source: str, seen: tuple[str, ...]) -> dict[str, Any]:
    parent_name = data.get("inherits")
    if parent_name is None:
        return data
    check = _Checker(source)
    parent_name = check.typed("inherits", parent_name, "str")
    if parent_name in seen:
        raise check.fail("inherits", f"circular inheritance through {parent_name!r}")
    parent_path = _find_named(parent_name, source=source)
    parent = _resolve_inherits(_read_toml(parent_path), str(parent_path), seen + (parent_name,))
    merged = _merge(parent, data)
    merged.pop("inherits", None)
    return merged


def profile_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Profile:
    """Validate a profile given as a mapping (the parsed TOML) into a :class:`Profile`.

    Raises
    ------
    ProfileError
        Naming ``source`` and the offending key.
    """
    c = _Checker(source)
    data = dict(data)
    data.pop("inherits", None)
    firmware_raw = data.get("firmware")
    if firmware_raw is None:
        raise c.fail("firmware", "missing key")
    firmware = c.choice("firmware", c.typed("firmware", firmware_raw, "str"), FIRMWARES)
    wanted_tables = _FIRMWARE_TABLES[firmware]

    values: dict[str, dict[str, Any]] = {"": {}}
    for key, value in data.items():
        if key in _TABLES:
            if key not in wanted_tables:
                raise c.fail(key, f"unknown table for firmware {firmware!r} "
                                  f"(expected tables: {', '.join(wanted_tables)})")
            if not isinstance(value, dict):
                raise c.fail(key, "must be a table ([" + key + "])")
            continue
        if key not in _SCHEMA[""]:
            raise c.fail(key, f"unknown key (known: {', '.join(sorted(list(_SCHEMA['']) + list(wanted_tables)))})")
    for table in ("",) + wanted_tables:
        raw = data if table == "" else data.get(table)
        if raw is None:
            raise c.fail(table, f"missing table [{table}]")
        schema = _SCHEMA[table]
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if table == "" and key in _TABLES:
                continue
            full = f"{table}.{key}" if table else key
            if key not in schema:
                raise c.fail(full, f"unknown key (known in [{table or 'top level'}]: {', '.join(schema)})")
            out[key] = c.typed(full, value, schema[key][0])
        for key, (_, required) in schema.items():
            if required and key not in out:
                full = f"{table}.{key}" if table else key
                raise c.fail(full, "missing key")
        values[table] = out

    top = values[""]
    if top["units"] != "mm":
        raise c.fail("units", f"must be \"mm\" (aikon works in millimetres; G21), got {top['units']!r}")
    if not top["name"].strip():
        raise c.fail("name", "must not be empty")

    wa = values["work_area"]
    origin = _ORIGIN_SYNONYMS.get(wa["origin"], wa["origin"])
    c.choice("work_area.origin", origin, ORIGINS + tuple(_ORIGIN_SYNONYMS))
    for key in ("x_sign", "y_sign"):
        if wa[key] not in (1, -1):
            raise c.fail(f"work_area.{key}", f"must be 1 or -1, got {wa[key]}")
    work_area = WorkArea(width=c.positive("work_area.width", wa["width"]),
                         height=c.positive("work_area.height", wa["height"]),
                         origin=origin, x_sign=wa["x_sign"], y_sign=wa["y_sign"])

    pv = values["pen"]
    mode = c.choice("pen.mode", pv["mode"], PEN_MODES)
    mode_keys = {"servo": ("up_command", "down_command"), "z": ("up_z", "down_z", "z_speed", "z_acceleration")}
    for key in mode_keys[mode]:
        if key not in pv:
            raise c.fail(f"pen.{key}", f"missing key (needed when pen.mode = {mode!r})")
    other = "z" if mode == "servo" else "servo"
    for key in mode_keys[other]:
        if key in pv:
            raise c.fail(f"pen.{key}", f"only used when pen.mode = {other!r} (this profile has {mode!r})")
    if firmware == "ebb" and mode != "servo":
        raise c.fail("pen.mode", "an EiBotBoard has a servo pen: must be \"servo\"")
    pen_kwargs: dict[str, Any] = {"mode": mode,
                                  "up_delay": c.non_negative("pen.up_delay", pv["up_delay"]),
                                  "down_delay": c.non_negative("pen.down_delay", pv["down_delay"])}
    if mode == "servo":
        pen_kwargs["up_command"] = c.command("pen.up_command", pv["up_command"])
        pen_kwargs["down_command"] = c.command("pen.down_command", pv["down_command"])
        if pen_kwargs["up_command"] == pen_kwargs["down_command"]:
            raise c.fail("pen.down_command", "must differ from pen.up_command")
    else:
        pen_kwargs["up_z"] = pv["up_z"]
        pen_kwargs["down_z"] = pv["down_z"]
        pen_kwargs["z_speed"] = c.positive("pen.z_speed", pv["z_speed"])
        pen_kwargs["z_acceleration"] = c.positive("pen.z_acceleration", pv["z_acceleration"])
        if not pv["up_z"] > pv["down_z"]:
            raise c.fail("pen.up_z", f"must be above pen.down_z ({pv['down_z']}), got {pv['up_z']}")
    for key in ("up_delay", "down_delay"):
        if pen_kwargs[key] > 10:
            raise c.fail(f"pen.{key}", f"is in seconds; {pen_kwargs[key]} s is implausible (max 10)")
    pen = PenConfig(**pen_kwargs)

    mv = values["motion"]
    motion = MotionConfig(**{k: c.positive(f"motion.{k}", v) for k, v in mv.items()})
    if motion.draw_speed > 2000 or motion.travel_speed > 2000:
        raise c.fail("motion.draw_speed" if motion.draw_speed > 2000 else "motion.travel_speed",
                     "is in mm/s; above 2000 mm/s looks like mm/min")

    start = StartConfig(home=values["start"]["home"])
    park = values["end"]["park"]
    (x0, x1), (y0, y1) = work_area.machine_x_range, work_area.machine_y_range
    if not (x0 <= park[0] <= x1 and y0 <= park[1] <= y1):
        raise c.fail("end.park", f"{list(park)} is outside the work area "
                                 f"(machine X {x0:g}..{x1:g}, Y {y0:g}..{y1:g} mm)")
    end = EndConfig(park=park)

    sv = values["serial"]
    if sv["baud"] not in (300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 74880, 115200, 230400, 250000,
                          460800, 500000, 921600, 1000000, 2000000):
        raise c.fail("serial.baud", f"{sv['baud']} is not a standard baud rate")
    c.choice("serial.line_ending", sv["line_ending"], LINE_ENDINGS)
    if firmware == "grbl" and sv["line_ending"] != "\n":
        raise c.fail("serial.line_ending", "GRBL needs \"\\n\": \"\\r\\n\" makes it answer twice and breaks "
                                           "character counting")
    usb_ids = []
    for vid_pid in sv["usb_ids"]:
        parts = vid_pid.split(":")
        if len(parts) != 2 or not all(len(p) == 4 and all(ch in "0123456789abcdefABCDEF" for ch in p) for p in parts):
            raise c.fail("serial.usb_ids", f"{vid_pid!r} is not VID:PID in hex (e.g. \"1A86:7523\")")
        usb_ids.append(vid_pid.upper())
    serial = SerialConfig(baud=sv["baud"], line_ending=sv["line_ending"], usb_ids=tuple(usb_ids))

    gcode = None
    if "gcode" in wanted_tables:
        gv = values["gcode"]
        if not 0 <= gv["decimals"] <= 6:
            raise c.fail("gcode.decimals", f"must be between 0 and 6, got {gv['decimals']}")
        if not 20 <= gv["max_line_length"] <= 256:
            raise c.fail("gcode.max_line_length", f"must be between 20 and 256, got {gv['max_line_length']}")
        if firmware == "grbl" and gv["max_line_length"] > 79:
            raise c.fail("gcode.max_line_length", "GRBL's line buffer holds at most 79 characters")
        if firmware == "grbl" and gv["comments"]:
            raise c.fail("gcode.comments", "must be false for GRBL: real-time characters act even inside comments")
        c.choice("gcode.dwell_units", gv["dwell_units"], ("s", "ms"))
        if gv["dwell_units"] != DWELL_UNITS[firmware]:
            raise c.fail("gcode.dwell_units", f"{firmware} reads G4 P in {DWELL_UNITS[firmware]!r}, "
                                              f"got {gv['dwell_units']!r}")
        c.choice("gcode.travel_command", gv["travel_command"], ("G0", "G1"))
        gcode = GcodeConfig(**gv)

    ebb = None
    if "ebb" in wanted_tables:
        ev = values["ebb"]
        c.positive("ebb.steps_per_mm", ev["steps_per_mm"])
        if ev["microstepping"] not in (1, 2, 3, 4, 5):
            raise c.fail("ebb.microstepping", f"must be 1..5 (EM mode), got {ev['microstepping']}")
        for key in ("servo_up", "servo_down", "servo_rate_up", "servo_rate_down"):
            if not 0 <= ev[key] <= 65535:
                raise c.fail(f"ebb.{key}", f"must be 0..65535, got {ev[key]}")
        c.positive("ebb.min_step_rate", ev["min_step_rate"])
        if not ev["max_step_rate"] > ev["min_step_rate"]:
            raise c.fail("ebb.max_step_rate", "must be above ebb.min_step_rate")
        fastest = max(motion.draw_speed, motion.travel_speed) * ev["steps_per_mm"] * math.sqrt(2)
        if fastest > ev["max_step_rate"]:
            raise c.fail("motion.travel_speed", f"needs {fastest:.0f} steps/s, above ebb.max_step_rate")
        ebb = EbbConfig(**ev)

    return Profile(name=top["name"].strip(), description=top["description"], firmware=firmware,
                   units=top["units"], work_area=work_area, pen=pen, motion=motion, start=start, end=end,
                   serial=serial, gcode=gcode, ebb=ebb, source=source)


# --------------------------------------------------------------------------- discovery


def bundled_profile_dir() -> Path:
    """Directory of the bundled profiles (installed package or source checkout)."""
    here = Path(__file__).resolve().parent
    installed = here / "firmware_profiles"
    return installed if installed.is_dir() else here.parent / "firmware_profiles"


def user_profile_dir() -> Path:
    """Per-user profile directory (it may not exist)."""
    if os.environ.get("AIKON_CONFIG_DIR"):
        return Path(os.environ["AIKON_CONFIG_DIR"]) / "profiles"
    if os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]) / "aikon" / "profiles"
    return Path.home() / ".config" / "aikon" / "profiles"


def _profile_files() -> dict[str, tuple[Path, str]]:
    """name (file stem) -> (path, "bundled" | "user"); user files shadow bundled ones."""
    found: dict[str, tuple[Path, str]] = {}
    for directory, source in ((bundled_profile_dir(), "bundled"), (user_profile_dir(), "user")):
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                found[path.stem] = (path, source)
    return found


def _find_named(name: str, *, source: str | None = None) -> Path:
    files = _profile_files()
    if name in files:
        return files[name][0]
    available = ", ".join(sorted(files)) or "(none found)"
    where = f"profile {source}: inherits: " if source else ""
    raise ProfileError(f"{where}unknown profile {name!r}; available: {available} "
                       f"(or give the path of a .toml file)")


def _looks_like_path(name_or_path: str | os.PathLike) -> bool:
    text = os.fspath(name_or_path)
    return text.endswith(".toml") or os.sep in text or "/" in text


def load_profile(name_or_path: str | os.PathLike) -> Profile:
    """Load and validate a profile by name (bundled or user) or by path to a TOML file.

    Parameters
    ----------
    name_or_path : str or path-like
        ``"grbl-servo"`` etc., or a path such as ``"my-plotter.toml"``.

    Returns
    -------
    Profile
        Frozen and validated.

    Raises
    ------
    ProfileError
        Unknown name (the message lists the available names), unreadable file, or an invalid key.
    """
    if _looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
    else:
        path = _find_named(str(name_or_path))
    data = _read_toml(path)
    data = _resolve_inherits(data, str(path), (path.stem,))
    return profile_from_dict(data, source=str(path))


def list_profiles() -> list[tuple[str, Path, str]]:
    """Every profile that :func:`load_profile` finds by name: ``(name, path, description)``, sorted.

    A file that cannot be parsed is still listed, with the reason as its description.
    """
    out = []
    for name, (path, _source) in sorted(_profile_files().items()):
        try:
            description = load_profile(path).description
        except ProfileError as exc:
            description = f"INVALID: {exc}"
        out.append((name, path, description))
    return out


def profile_source(path: Path) -> str:
    """``"bundled"`` or ``"user"`` for a profile path from :func:`list_profiles`."""
    try:
        path.resolve().relative_to(bundled_profile_dir().resolve())
        return "bundled"
    except ValueError:
        return "user"
