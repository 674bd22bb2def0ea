"""Reading G-code as GRBL 1.1 reads it: line rules, word rules, modal state, moves.

Pure functions, no I/O. Three layers, each usable on its own:

``clean_grbl_line(raw)``
    GRBL's serial-protocol filter: drops spaces and control characters,
    ``(...)`` and ``;`` comments, ``/``, real-time characters (``? ! ~``, 0x18,
    bytes >= 0x80, which GRBL picks off before a line is built), upper-cases,
    and flags a line longer than 79 characters (``error:11``).
``check_grbl_line(line)`` / ``check_grbl_program(lines)``
    The error GRBL 1.1 would answer for a line (``error:N`` as an int), or
    ``None`` when it would answer ``ok``. Word rules follow ``gcode.c``:
    1 expected command letter, 2 bad number format, 3 invalid ``$`` statement,
    4 negative value, 11 line overflow, 20 unsupported command, 21 modal group
    violation, 22 undefined feed rate, 23 non-integer command, 24 two axis
    commands, 25 repeated word, 26 no axis words, 27 bad line number, 28
    missing value word, 29 G59.x, 30 G53 without G0/G1, 31 axis words with
    G80, 32-35 arcs, 36 unused words, 38 tool number.
``interpret(lines, pen=...)`` and ``strokes_from_moves(moves)``
    Modal interpretation into :class:`Move` records (rapid, feed, dwell, pen)
    in machine millimetres, and the pen-down polylines they draw.

The same block executor (:func:`execute_block`) drives the simulator
(``aikon.plotter.simulator``), so what the simulator accepts is exactly what
``check_grbl_program`` accepts.

Example
-------
>>> moves = interpret(["G21 G90", "M5", "G0 X10 Y10", "M3 S1000", "G4 P0.2",
...                    "G1 X20 Y10 F1200", "G1 X20 Y20", "M5"])
>>> [m.kind for m in moves]
['rapid', 'pen', 'dwell', 'feed', 'feed', 'pen']
>>> [s.tolist() for s in strokes_from_moves(moves)]
[[[10.0, 10.0], [20.0, 10.0], [20.0, 20.0]]]
>>> check_grbl_line("G1 X1.2.3"), check_grbl_line("G1 E5"), check_grbl_line("G1 X1 X2")
(1, 20, 25)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from aikon.errors import InputError
from aikon.plotter.grbl_codes import MAX_LINE_LENGTH, error_message

MM_PER_INCH = 25.4
MAX_LINE_NUMBER = 10_000_000
MAX_TOOL_NUMBER = 255
N_COORDINATE_SYSTEMS = 6
_MAX_INT_DIGITS = 8
_REALTIME_CHARS = frozenset("?!~\x18")

Vec3 = tuple[float, float, float]
_ZERO3: Vec3 = (0.0, 0.0, 0.0)

# ---------------------------------------------------------------------------
# Line filter (GRBL protocol.c)


def clean_grbl_line(raw: str) -> tuple[str, bool]:
    """Filter one received line the way GRBL's protocol loop does.

    Parameters
    ----------
    raw : str
        One line without its terminator (a ``\\r`` or ``\\n`` inside ends it).

    Returns
    -------
    line : str
        What reaches the parser: no whitespace or control characters, no
        comments, no ``/``, no real-time characters, upper case.
    overflow : bool
        True when more than 79 characters remained (GRBL answers ``error:11``
        and executes nothing).
    """
    out: list[str] = []
    in_paren = in_semicolon = overflow = False
    for ch in raw:
        if ch in "\r\n":
            break
        code = ord(ch)
        if code >= 0x80 or ch in _REALTIME_CHARS:
            continue  # taken by the serial interrupt, never part of a line
        if in_paren or in_semicolon or overflow:
            if in_paren and ch == ")":
                in_paren = False
            continue
        if code <= 0x20 or ch == "/":
            continue
        if ch == "(":
            in_paren = True
        elif ch == ";":
            in_semicolon = True
        elif len(out) >= MAX_LINE_LENGTH:
            overflow = True
        else:
            out.append(ch.upper() if "a" <= ch <= "z" else ch)
    return "".join(out), overflow


def is_stream_safe(line: str) -> bool:
    """True when ``line`` holds nothing a sender must not stream to GRBL.

    Unsafe: real-time characters (``? ! ~``, 0x18) and non-ASCII, which GRBL
    acts on immediately even inside comments, and line terminators inside the
    line (``\\r`` would split it and break character counting).
    """
    return all(0x20 <= ord(ch) < 0x7F and ch not in _REALTIME_CHARS for ch in line)


def read_float(line: str, pos: int) -> tuple[float, int] | None:
    """GRBL's ``read_float``: optional sign, digits, at most one point, >= 1 digit.

    Returns ``(value, next_position)`` or ``None`` (bad number format). No
    exponents, no ``inf``/``nan``; digits past the 8th significant one are
    ignored as GRBL does.
    """
    i = pos
    n = len(line)
    negative = False
    if i < n and line[i] in "+-":
        negative = line[i] == "-"
        i += 1
    intval = 0
    exp = 0
    ndigit = 0
    decimal = False
    while i < n:
        ch = line[i]
        if "0" <= ch <= "9":
            ndigit += 1
            if ndigit <= _MAX_INT_DIGITS:
                if decimal:
                    exp -= 1
                intval = intval * 10 + (ord(ch) - 48)
            elif not decimal:
                exp += 1
        elif ch == "." and not decimal:
            decimal = True
        else:
            break
        i += 1
    if ndigit == 0:
        return None
    value = float(intval) * (10.0 ** exp)
    return (-value if negative else value), i


# ---------------------------------------------------------------------------
# Modal state and block execution (GRBL gcode.c)


@dataclass(frozen=True)
class GcodeState:
    """GRBL's parser state. Positions are machine coordinates in mm."""

    motion: str = "G0"            # G0 G1 G2 G3 G38.2 G38.3 G38.4 G38.5 G80
    plane: int = 17               # 17 XY, 18 ZX, 19 YZ
    distance: int = 90            # 90 absolute, 91 incremental
    feed_mode: int = 94           # 94 units/min, 93 inverse time
    units: int = 21               # 21 mm, 20 inch
    coord_select: int = 0         # 0..5 = G54..G59
    tool_length_offset: float = 0.0
    spindle: str = "M5"           # M3 M4 M5
    coolant: str = "M9"           # M8 M9
    feed_rate: float = 0.0        # mm/min; 0 means undefined
    spindle_speed: float = 0.0
    tool: int = 0
    line_number: int = 0
    position: Vec3 = _ZERO3
    coord_systems: tuple[Vec3, ...] = (_ZERO3,) * N_COORDINATE_SYSTEMS
    g92_offset: Vec3 = _ZERO3
    g28_position: Vec3 = _ZERO3
    g30_position: Vec3 = _ZERO3

    @property
    def work_offset(self) -> Vec3:
        """WCO: active coordinate system + G92 offset + tool length offset (Z), mm."""
        cs = self.coord_systems[self.coord_select]
        return (cs[0] + self.g92_offset[0], cs[1] + self.g92_offset[1],
                cs[2] + self.g92_offset[2] + self.tool_length_offset)

    def modes_report(self) -> str:
        """The ``[GC:...]`` line GRBL prints for ``$G``."""
        def num(v: float) -> str:
            return f"{v:.0f}"
        return (f"[GC:{self.motion} G{54 + self.coord_select} G{self.plane} G{self.units} G{self.distance} "
                f"G{self.feed_mode} {self.spindle} {self.coolant} T{self.tool} F{num(self.feed_rate)} "
                f"S{num(self.spindle_speed)}]")


@dataclass(frozen=True)
class MotionAction:
    """A straight move to ``target`` (machine mm) at ``feed`` mm/min (None = rapid)."""

    kind: str                     # "rapid" | "feed" | "probe"
    target: Vec3
    feed: float | None
    probe: str | None = None      # "G38.2" etc. for probe moves


@dataclass(frozen=True)
class DwellAction:
    seconds: float


@dataclass(frozen=True)
class SpindleAction:
    """Spindle (servo pen) change; GRBL waits for the planner to empty first."""

    state: str                    # M3 M4 M5
    speed: float


@dataclass(frozen=True)
class CoolantAction:
    state: str


@dataclass(frozen=True)
class SyncAction:
    """A buffer synchronisation (EEPROM write: G10, G28.1, G30.1)."""

    reason: str


@dataclass(frozen=True)
class ProgramAction:
    code: str                     # M0 M1 M2 M30


Action = MotionAction | DwellAction | SpindleAction | CoolantAction | SyncAction | ProgramAction


@dataclass(frozen=True)
class BlockResult:
    """Outcome of :func:`execute_block`: an error code, or the new state and actions."""

    error: int | None
    state: GcodeState
    actions: tuple[Action, ...] = ()


_AXES = {"X": 0, "Y": 1, "Z": 2}
_IJK = {"I": 0, "J": 1, "K": 2}
_VALUE_LETTERS = frozenset("FIJKLNPRSTXYZ")
_NEGATIVE_FORBIDDEN = frozenset("FNPTS")
_JOG_ALLOWED_G = frozenset({"G20", "G21", "G90", "G91", "G53"})


@dataclass
class _Block:
    motion: str | None = None
    non_modal: str | None = None
    groups: set = field(default_factory=set)
    modal: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    m_commands: list = field(default_factory=list)
    g_commands: list = field(default_factory=list)


def _parse_words(line: str, jog: bool) -> tuple[int | None, _Block, str | None]:
    """Step 2 of gc_execute_line: words, modal groups, repeats, negatives."""
    block = _Block()
    axis_command: str | None = None
    i = 3 if jog else 0
    n = len(line)
    while i < n:
        letter = line[i]
        if not ("A" <= letter <= "Z"):
            return 1, block, None
        parsed = read_float(line, i + 1)
        if parsed is None:
            return 2, block, None
        value, i = parsed
        int_value = int(math.trunc(value))
        mantissa = int(round(100 * (value - int_value)))
        if letter == "G":
            name = f"G{int_value}"
            group: str
            if int_value in (10, 28, 30, 92, 4, 53):
                if int_value in (10, 28, 30, 92) and mantissa == 0:
                    if axis_command:
                        return 24, block, None
                    axis_command = "non_modal"
                group = "G0"
                if int_value in (28, 30, 92):
                    if mantissa not in (0, 10):
                        return 20, block, None
                    if mantissa == 10:
                        name += ".1"
                    mantissa = 0
                block.non_modal = name
            elif int_value in (0, 1, 2, 3, 38, 80):
                if int_value != 80:
                    if axis_command:
                        return 24, block, None
                    axis_command = "motion"
                group = "G1"
                if int_value == 38:
                    if mantissa not in (20, 30, 40, 50):
                        return 20, block, None
                    name = f"G38.{mantissa // 10}"
                    mantissa = 0
                block.motion = name
            elif int_value in (17, 18, 19):
                group = "G2"
                block.modal["plane"] = int_value
            elif int_value in (90, 91):
                if mantissa == 0:
                    group = "G3"
                    block.modal["distance"] = int_value
                else:
                    group = "G4"
                    if mantissa != 10 or int_value == 90:
                        return 20, block, None
                    mantissa = 0
            elif int_value in (93, 94):
                group = "G5"
                block.modal["feed_mode"] = int_value
            elif int_value in (20, 21):
                group = "G6"
                block.modal["units"] = int_value
            elif int_value == 40:
                group = "G7"
            elif int_value in (43, 49):
                group = "G8"
                if axis_command:
                    return 24, block, None
                axis_command = "tlo"
                if int_value == 49:
                    block.modal["tlo"] = "G49"
                elif mantissa == 10:
                    block.modal["tlo"] = "G43.1"
                else:
                    return 20, block, None
                mantissa = 0
            elif 54 <= int_value <= 59:
                group = "G12"
                block.modal["coord_select"] = int_value - 54
            elif int_value == 61:
                group = "G13"
                if mantissa != 0:
                    return 20, block, None
            else:
                return 20, block, None
            if mantissa > 0:
                return 23, block, None
            if group in block.groups:
                return 21, block, None
            block.groups.add(group)
            block.g_commands.append(name)
        elif letter == "M":
            if mantissa > 0:
                return 23, block, None
            if int_value in (0, 1, 2, 30):
                group = "M4"
                block.modal["program"] = f"M{int_value}"
            elif int_value in (3, 4, 5):
                group = "M7"
                block.modal["spindle"] = f"M{int_value}"
            elif int_value in (8, 9):
                group = "M8"
                block.modal["coolant"] = f"M{int_value}"
            else:
                return 20, block, None
            if group in block.groups:
                return 21, block, None
            block.groups.add(group)
            block.m_commands.append(f"M{int_value}")
        else:
            if letter not in _VALUE_LETTERS:
                return 20, block, None
            if letter == "T" and value > MAX_TOOL_NUMBER:
                return 38, block, None
            if letter in block.values:
                return 25, block, None
            if letter in _NEGATIVE_FORBIDDEN and value < 0.0:
                return 4, block, None
            block.values[letter] = value
    return None, block, axis_command


def execute_block(state: GcodeState, line: str, *, arc_tolerance: float = 0.002) -> BlockResult:
    """Check and execute one cleaned line (see :func:`clean_grbl_line`) as GRBL does.

    Parameters
    ----------
    state : GcodeState
        Parser state before the line (not modified).
    line : str
        A cleaned, upper-case line; ``$J=...`` is a jog block.
    arc_tolerance : float
        ``$12`` in mm: arcs become straight segments within this chord error.

    Returns
    -------
    BlockResult
        ``error`` is a GRBL error code and the state is unchanged, or ``None``
        and ``state``/``actions`` describe the block (in GRBL's order of
        execution: spindle, coolant, dwell, offsets, motion, program flow).
    """
    jog = line.startswith("$J=")
    err, b, axis_command = _parse_words(line, jog)
    if err is not None:
        return BlockResult(err, state)
    if jog:
        if b.m_commands or b.non_modal not in (None, "G53") or b.motion is not None \
                or any(g not in _JOG_ALLOWED_G for g in b.g_commands) \
                or set(b.values) - set("XYZFN"):
            return BlockResult(16, state)
        b.motion = "G1"
        b.modal["feed_mode"] = 94
    v = b.values
    axis_words = [a for a in "XYZ" if a in v]
    if axis_words and not axis_command:
        axis_command = "motion"
    units = b.modal.get("units", state.units)
    feed_mode = b.modal.get("feed_mode", state.feed_mode)
    motion = b.motion or state.motion
    scale = MM_PER_INCH if units == 20 else 1.0

    if "N" in v and v["N"] > MAX_LINE_NUMBER:
        return BlockResult(27, state)
    # Feed rate (mm/min, or 1/min in inverse time mode)
    if jog:
        if "F" not in v:
            return BlockResult(22, state)
        feed = v["F"] * scale
    elif feed_mode == 93:
        if axis_command == "motion" and motion not in ("G80", "G0") and "F" not in v:
            return BlockResult(22, state)
        feed = v.get("F", 0.0)
    elif state.feed_mode == 94:
        feed = v["F"] * scale if "F" in v else state.feed_rate
    else:  # switching from G93 to G94: feed undefined unless given
        feed = v["F"] * scale if "F" in v else 0.0
    spindle_speed = v.get("S", state.spindle_speed)
    used = set("NFST")
    if b.non_modal == "G4":
        if "P" not in v:
            return BlockResult(28, state)
        used.add("P")
    # Tool length offset
    tlo = state.tool_length_offset
    if axis_command == "tlo":
        if b.modal["tlo"] == "G43.1":
            if axis_words != ["Z"]:
                return BlockResult(37, state)
            tlo = v["Z"] * scale
        else:
            tlo = 0.0
    coord_select = b.modal.get("coord_select", state.coord_select)
    coord_systems = state.coord_systems
    g92 = state.g92_offset
    g28, g30 = state.g28_position, state.g30_position
    block_cs = coord_systems[coord_select]
    pos = state.position
    xyz = {a: v[a] * scale for a in axis_words}
    target = pos
    actions: list[Action] = []
    sync_reason: str | None = None
    nm = b.non_modal
    if nm == "G10":
        if not axis_words:
            return BlockResult(26, state)
        if "P" not in v or "L" not in v:
            return BlockResult(28, state)
        p = int(math.trunc(v["P"]))
        if p > N_COORDINATE_SYSTEMS:
            return BlockResult(29, state)
        l_word = int(math.trunc(v["L"]))
        if l_word == 2:
            if "R" in v:
                return BlockResult(20, state)
        elif l_word != 20:
            return BlockResult(20, state)
        used |= {"L", "P"}
        index = p - 1 if p > 0 else coord_select
        new = list(coord_systems[index])
        for a, value in xyz.items():
            k = _AXES[a]
            if l_word == 20:
                new[k] = pos[k] - g92[k] - value - (tlo if k == 2 else 0.0)
            else:
                new[k] = value
        cs_list = list(coord_systems)
        cs_list[index] = (new[0], new[1], new[2])
        coord_systems = tuple(cs_list)
        block_cs = coord_systems[coord_select]
        sync_reason = "G10"
    elif nm == "G92":
        if not axis_words:
            return BlockResult(26, state)
        new = list(g92)
        for a, value in xyz.items():
            k = _AXES[a]
            new[k] = pos[k] - block_cs[k] - value - (tlo if k == 2 else 0.0)
        g92 = (new[0], new[1], new[2])
    else:
        if axis_command != "tlo" and axis_words:
            t = list(pos)
            for a, value in xyz.items():
                k = _AXES[a]
                if nm == "G53":
                    t[k] = value
                elif b.modal.get("distance", state.distance) == 90:
                    t[k] = value + block_cs[k] + g92[k] + (tlo if k == 2 else 0.0)
                else:
                    t[k] = value + pos[k]
            target = (t[0], t[1], t[2])
        if nm in ("G28", "G30"):
            home = g28 if nm == "G28" else g30
            if axis_words:
                home = tuple(home[k] if "XYZ"[k] in v else pos[k] for k in range(3))
        elif nm == "G53" and motion not in ("G0", "G1"):
            return BlockResult(30, state)
        elif nm in ("G28.1", "G30.1"):
            sync_reason = nm
    # Motion modes
    arc: tuple[float, float, float] | None = None  # (i, j, r) offsets in plane, radius
    planes = {17: (0, 1, 2), 18: (2, 0, 1), 19: (1, 2, 0)}
    a0, a1, _lin = planes[b.modal.get("plane", state.plane)]
    motion_kind = None
    if motion == "G80":
        if axis_words:
            return BlockResult(31, state)
    elif axis_command == "motion":
        if motion == "G0":
            motion_kind = "rapid" if axis_words else None
        else:
            if feed == 0.0:
                return BlockResult(22, state)
            if motion == "G1":
                motion_kind = "feed" if axis_words else None
            elif motion in ("G2", "G3"):
                if not axis_words:
                    return BlockResult(26, state)
                if not ({"XYZ"[a0], "XYZ"[a1]} & set(axis_words)):
                    return BlockResult(32, state)
                x = target[a0] - pos[a0]
                y = target[a1] - pos[a1]
                if "R" in v:
                    used.add("R")
                    if target == pos:
                        return BlockResult(33, state)
                    r = v["R"] * scale
                    h4 = 4.0 * r * r - x * x - y * y
                    if h4 < 0:
                        return BlockResult(34, state)
                    hd = -math.sqrt(h4) / math.hypot(x, y)
                    if motion == "G3":
                        hd = -hd
                    if r < 0:
                        hd = -hd
                        r = -r
                    arc = (0.5 * (x - y * hd), 0.5 * (y + x * hd), r)
                else:
                    ijk = {k: v[letter] * scale for letter, k in _IJK.items() if letter in v}
                    if a0 not in ijk and a1 not in ijk:
                        return BlockResult(35, state)
                    used |= set("IJK")
                    i_off, j_off = ijk.get(a0, 0.0), ijk.get(a1, 0.0)
                    target_r = math.hypot(x - i_off, y - j_off)
                    r = math.hypot(i_off, j_off)
                    delta_r = abs(target_r - r)
                    if delta_r > 0.005 and (delta_r > 0.5 or delta_r > 0.001 * r):
                        return BlockResult(33, state)
                    arc = (i_off, j_off, r)
                motion_kind = "arc"
            else:  # probing
                if not axis_words:
                    return BlockResult(26, state)
                if target == pos:
                    return BlockResult(33, state)
                motion_kind = "probe"
    unused = set(v) - used
    if axis_command:
        unused -= set("XYZ")
    if unused:
        return BlockResult(36, state)

    # ---- execute (state update and actions, in GRBL's order) ----
    new_spindle = b.modal.get("spindle", state.spindle)
    # GRBL syncs on a speed change while the spindle runs, then on a state change.
    if spindle_speed != state.spindle_speed and state.spindle != "M5":
        actions.append(SpindleAction(state.spindle, spindle_speed))
    if new_spindle != state.spindle:
        actions.append(SpindleAction(new_spindle, spindle_speed))
    new_coolant = b.modal.get("coolant", state.coolant)
    if new_coolant != state.coolant:
        actions.append(CoolantAction(new_coolant))
    if nm == "G4":
        actions.append(DwellAction(float(v["P"])))
    if sync_reason:
        actions.append(SyncAction(sync_reason))
    if nm in ("G28.1", "G30.1"):
        if nm == "G28.1":
            g28 = pos
        else:
            g30 = pos
    feed_per_min = None if feed_mode == 94 else feed
    new_pos = pos
    if nm in ("G28", "G30"):
        if axis_words:
            actions.append(MotionAction("rapid", target, None))
        actions.append(MotionAction("rapid", home, None))  # type: ignore[arg-type]
        new_pos = home  # type: ignore[assignment]
    elif motion_kind == "rapid":
        actions.append(MotionAction("rapid", target, None))
        new_pos = target
    elif motion_kind in ("feed", "probe"):
        f = feed if feed_per_min is None else feed_per_min * _distance(pos, target)
        actions.append(MotionAction(motion_kind, target, f, probe=motion if motion_kind == "probe" else None))
        new_pos = target
    elif motion_kind == "arc":
        assert arc is not None
        points = _arc_points(pos, target, arc, a0, a1, motion == "G2", arc_tolerance)
        total = sum(_distance(p, q) for p, q in zip([pos] + points[:-1], points))
        f = feed if feed_per_min is None else feed_per_min * total
        actions.extend(MotionAction("feed", p, f) for p in points)
        new_pos = target
    program = b.modal.get("program")
    new = replace(
        state,
        motion=motion if not jog else state.motion,
        plane=b.modal.get("plane", state.plane) if not jog else state.plane,
        distance=b.modal.get("distance", state.distance) if not jog else state.distance,
        feed_mode=feed_mode if not jog else state.feed_mode,
        units=units if not jog else state.units,
        coord_select=coord_select,
        tool_length_offset=tlo,
        spindle=new_spindle,
        coolant=new_coolant,
        feed_rate=(0.0 if feed_mode == 93 else feed) if not jog else state.feed_rate,
        spindle_speed=spindle_speed,
        tool=int(v["T"]) if "T" in v else state.tool,
        line_number=int(v["N"]) if "N" in v else state.line_number,
        position=new_pos,
        coord_systems=coord_systems,
        g92_offset=g92,
        g28_position=g28,
        g30_position=g30,
    )
    if program:
        actions.append(ProgramAction(program))
        if program in ("M2", "M30"):
            new = replace(new, motion="G1", plane=17, distance=90, feed_mode=94, coord_select=0,
                          spindle="M5", coolant="M9")
    return BlockResult(None, new, tuple(actions))


def _distance(p: Sequence[float], q: Sequence[float]) -> float:
    return math.sqrt((q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2 + (q[2] - p[2]) ** 2)


def _arc_points(pos: Vec3, target: Vec3, arc: tuple[float, float, float], a0: int, a1: int,
                clockwise: bool, tolerance: float) -> list[Vec3]:
    """GRBL's mc_arc: chords within ``tolerance`` mm; the last point is exactly ``target``."""
    i_off, j_off, radius = arc
    center0 = pos[a0] + i_off
    center1 = pos[a1] + j_off
    lin = 3 - a0 - a1
    r0, r1 = -i_off, -j_off
    rt0, rt1 = target[a0] - center0, target[a1] - center1
    angular = math.atan2(r0 * rt1 - r1 * rt0, r0 * rt0 + r1 * rt1)
    if clockwise:
        if angular >= -5e-7:
            angular -= 2 * math.pi
    elif angular <= 5e-7:
        angular += 2 * math.pi
    chord = math.sqrt(max(tolerance * (2 * radius - tolerance), 1e-12))
    segments = int(math.floor(abs(0.5 * angular * radius) / chord))
    points: list[Vec3] = []
    for s in range(1, segments):
        theta = angular * s / segments
        c, sn = math.cos(theta), math.sin(theta)
        p = [0.0, 0.0, 0.0]
        p[a0] = center0 + r0 * c - r1 * sn
        p[a1] = center1 + r0 * sn + r1 * c
        p[lin] = pos[lin] + (target[lin] - pos[lin]) * s / segments
        points.append((p[0], p[1], p[2]))
    points.append(target)
    return points


def check_system_line(line: str) -> int | None:
    """Syntax check of a cleaned ``$`` line (state checks such as error:8 need a machine)."""
    if line == "$":
        return None
    second = line[1]
    if second == "J":
        if len(line) < 3 or line[2] != "=":
            return 3
        return execute_block(_LENIENT_STATE, line).error
    if second in "$GCX":
        return None if len(line) == 2 else 3
    if second == "#":
        return None if len(line) == 2 else 3
    if second == "H":
        return None if len(line) == 2 or (len(line) == 3 and line[2] in "XYZ") else 3
    if second == "S":
        return None if line == "$SLP" else 3
    if second == "I":
        return None if len(line) == 2 or line[2] == "=" else 3
    if second == "R":
        return None if line in ("$RST=$", "$RST=#", "$RST=*") else 3
    pos = 1
    startup = False
    if second == "N":
        if len(line) == 2:
            return None
        startup = True
        pos = 2
    parsed = read_float(line, pos)
    if parsed is None:
        return 2
    parameter, pos = parsed
    if pos >= len(line) or line[pos] != "=":
        return 3
    pos += 1
    if startup:
        return execute_block(_LENIENT_STATE, line[pos:]).error
    parsed = read_float(line, pos)
    if parsed is None:
        return 2
    if parsed[1] != len(line) or parameter > 255:
        return 3
    return None


# Feed rate defined, so a line checked on its own does not fail for want of an earlier F.
_LENIENT_STATE = GcodeState(feed_rate=1000.0)


def check_grbl_line(line: str, state: GcodeState | None = None) -> int | None:
    """The GRBL 1.1 error code for one line, or ``None`` if GRBL would answer ``ok``.

    Parameters
    ----------
    line : str
        One raw line as a sender would send it (comments and spaces allowed;
        they are stripped as GRBL does).
    state : GcodeState, optional
        Parser state before the line. By default a state with a defined feed
        rate, so that only rules of the line itself are checked; use
        :func:`check_grbl_program` to check a whole program with modal state.

    Notes
    -----
    Real-time characters and non-ASCII are removed (GRBL never puts them in a
    line) without an error: check :func:`is_stream_safe` as well before sending.
    """
    cleaned, overflow = clean_grbl_line(line)
    if overflow:
        return 11
    if not cleaned:
        return None
    if cleaned[0] == "$":
        return check_system_line(cleaned)
    return execute_block(state or _LENIENT_STATE, cleaned).error


def check_grbl_program(lines: Iterable[str]) -> list[tuple[int, int]]:
    """Every ``(line_number, error_code)`` GRBL 1.1 would report for a program (1-based lines).

    The modal state is carried from line to line (a failed line leaves it
    unchanged, as in GRBL), so an ``F``-less first ``G1`` gives ``error:22``.
    """
    state = GcodeState()
    problems: list[tuple[int, int]] = []
    for number, raw in enumerate(lines, start=1):
        cleaned, overflow = clean_grbl_line(raw)
        if overflow:
            problems.append((number, 11))
            continue
        if not cleaned:
            continue
        if cleaned[0] == "$":
            code = check_system_line(cleaned)
            if code is None and cleaned.startswith("$J="):
                state = execute_block(state, cleaned).state
        else:
            result = execute_block(state, cleaned)
            code = result.error
            if code is None:
                state = result.state
        if code is not None:
            problems.append((number, code))
    return problems


# ---------------------------------------------------------------------------
# Pen model and interpretation into moves


@dataclass(frozen=True)
class PenModel:
    """How a firmware raises and lowers the pen.

    Attributes
    ----------
    kind : str
        ``"servo"``: ``M3 S<value>`` / ``M5`` (GRBL servo forks);
        ``"z"``: the Z height; ``"m280"``: Marlin ``M280 P<index> S<angle>``.
    down_value, up_value : float, optional
        S value (servo), angle (m280) or Z height in mm (z) of the two pen
        positions; a value is classified by the nearer one. Defaults: servo,
        down when the spindle is on with S > 0; z, down when Z <= 0; m280,
        down when the angle is above 90.
    """

    kind: str = "servo"
    down_value: float | None = None
    up_value: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("servo", "z", "m280"):
            raise ValueError(f"pen kind must be 'servo', 'z' or 'm280', not {self.kind!r}")

    def servo_is_down(self, spindle: str, speed: float) -> bool:
        """Pen state for a spindle state (M3/M4/M5) and S value."""
        if spindle == "M5":
            return False
        if self.down_value is not None and self.up_value is not None:
            return abs(speed - self.down_value) < abs(speed - self.up_value)
        return speed > 0.0

    def z_is_down(self, z: float) -> bool:
        """Pen state for a Z height in mm."""
        if self.down_value is not None and self.up_value is not None:
            return abs(z - self.down_value) < abs(z - self.up_value)
        return z <= 0.0

    def angle_is_down(self, angle: float) -> bool:
        """Pen state for a Marlin servo angle in degrees."""
        if self.down_value is not None and self.up_value is not None:
            return abs(angle - self.down_value) < abs(angle - self.up_value)
        return angle > 90.0


def pen_model_from(source: object = None) -> PenModel:
    """A :class:`PenModel` from ``None`` (servo defaults), a PenModel, a dict or a Profile.

    A dict takes the PenModel keys (``kind``, ``down_value``, ``up_value``).
    A profile object is read by duck typing: ``profile.pen_model()`` if it has
    one, else its ``pen`` attribute or mapping (``kind``/``type`` of
    ``servo``/``z``/``m280``, ``down``/``up`` values).
    """
    if source is None:
        return PenModel()
    if isinstance(source, PenModel):
        return source
    if hasattr(source, "pen_model") and callable(source.pen_model):
        result = source.pen_model()
        if isinstance(result, PenModel):
            return result
        source = result
    if not isinstance(source, Mapping) and hasattr(source, "pen"):
        source = source.pen  # type: ignore[attr-defined]
    if not isinstance(source, Mapping) and hasattr(source, "mode"):
        return _pen_model_from_config(source)
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        data = {k: getattr(source, k) for k in dir(source) if not k.startswith("_")}
    kind = data.get("kind", data.get("type", "servo"))
    kind = {"grbl-servo": "servo", "spindle": "servo", "servo_m3": "servo", "marlin-servo": "m280",
            "z_axis": "z", "zaxis": "z"}.get(str(kind), str(kind))
    down = next((data[k] for k in ("down_value", "down", "down_s", "down_z", "down_angle") if k in data
                 and isinstance(data[k], (int, float))), None)
    up = next((data[k] for k in ("up_value", "up", "up_s", "up_z", "up_angle") if k in data
               and isinstance(data[k], (int, float))), None)
    return PenModel(kind, None if down is None else float(down), None if up is None else float(up))


def _command_value(command: str | None, letter: str) -> float | None:
    """The number after ``letter`` in a command such as ``M3 S90`` (None if absent)."""
    if not command:
        return None
    cleaned, _ = clean_grbl_line(command)
    i = cleaned.find(letter, 1)
    parsed = read_float(cleaned, i + 1) if i > 0 else None
    return parsed[0] if parsed else None


def _pen_model_from_config(pen: object) -> PenModel:
    """From :class:`aikon.profiles.PenConfig` (``mode`` servo/z, up/down commands or heights)."""
    mode = getattr(pen, "mode")
    if mode == "z":
        return PenModel("z", getattr(pen, "down_z", None), getattr(pen, "up_z", None))
    down_cmd = getattr(pen, "down_command", None) or ""
    up_cmd = getattr(pen, "up_command", None) or ""
    kind = "m280" if "M280" in down_cmd.upper() else "servo"
    return PenModel(kind, _command_value(down_cmd, "S"), _command_value(up_cmd, "S"))


@dataclass(frozen=True)
class Move:
    """One thing the machine does, in machine coordinates (mm, mm/min, s).

    Attributes
    ----------
    kind : str
        ``"rapid"`` (G0), ``"feed"`` (G1, arc chords), ``"dwell"`` (G4) or
        ``"pen"`` (the pen changed state; ``start == end``).
    start, end : tuple of 3 floats
        Machine position (x, y, z) in mm before and after.
    feed : float or None
        Programmed feed rate in mm/min for feed moves; None for rapids.
    pen_down : bool
        For motions: the pen was down for the whole move (a drawn line when
        XY changes). For ``"pen"``: the new state.
    duration : float
        Dwell time in seconds (0 for other kinds).
    line : int
        1-based source line number.
    """

    kind: str
    start: Vec3
    end: Vec3
    feed: float | None
    pen_down: bool
    duration: float = 0.0
    line: int = 0


def _append_motion(moves: list[Move], action: MotionAction, position: Vec3, pen_down: bool, model: PenModel,
                   number: int) -> tuple[Vec3, bool]:
    """Append the move for one motion (and a ``"pen"`` move when a Z pen crosses its heights).

    Returns the new ``(position, pen_down)``. A Z pen counts as down for a
    move only if it was down before and the move ends at a down height.
    """
    z_pen = model.kind == "z"
    moves.append(Move("rapid" if action.kind == "rapid" else "feed", position, action.target, action.feed,
                      pen_down and (not z_pen or model.z_is_down(action.target[2])), line=number))
    position = action.target
    if z_pen and model.z_is_down(position[2]) != pen_down:
        pen_down = not pen_down
        moves.append(Move("pen", position, position, None, pen_down, line=number))
    return position, pen_down


def interpret(lines: Iterable[str], *, pen: object = None, dialect: str = "grbl",
              arc_tolerance: float = 0.002, start: Sequence[float] = _ZERO3,
              pen_down: bool = False) -> list[Move]:
    """Interpret a G-code program into :class:`Move` records.

    Parameters
    ----------
    lines : iterable of str
        The program, one line per item (terminators allowed).
    pen : PenModel, dict or Profile, optional
        How the pen is driven (see :func:`pen_model_from`); default servo.
    dialect : str
        ``"grbl"`` (strict GRBL 1.1 rules; ``G4 P`` in seconds) or
        ``"marlin"`` (``N..*cs`` framing removed, ``M280`` servo pen, other
        M-codes ignored, ``G4 P`` in milliseconds and ``G4 S`` in seconds).
    arc_tolerance : float
        Chord tolerance for G2/G3 in mm (GRBL ``$12``).
    start : sequence of 3 floats
        Machine position (x, y, z) in mm before the first line (default the
        origin). Interpreting from two different starts shows which moves
        depend on where the carriage was (relative ``G91`` moves).
    pen_down : bool
        Pen state assumed before the first line (default up). With ``True``
        a program that lifts the pen before it travels shows that lift as a
        ``"pen"`` move.

    Returns
    -------
    list of Move

    Raises
    ------
    InputError
        For a line GRBL would reject (``line N: error:K meaning``).
    """
    model = pen_model_from(pen)
    initial = GcodeState(position=(float(start[0]), float(start[1]), float(start[2])))
    if dialect == "marlin":
        return _interpret_marlin(lines, model, arc_tolerance, initial, pen_down)
    if dialect != "grbl":
        raise ValueError(f"dialect must be 'grbl' or 'marlin', not {dialect!r}")
    state = initial
    moves: list[Move] = []
    for number, raw in enumerate(lines, start=1):
        cleaned, overflow = clean_grbl_line(raw)
        if overflow:
            raise InputError(f"line {number}: {error_message(11)}")
        if not cleaned:
            continue
        if cleaned[0] == "$":
            code = check_system_line(cleaned)
            if code is not None:
                raise InputError(f"line {number}: {error_message(code)}")
            if not cleaned.startswith("$J="):
                continue
        result = execute_block(state, cleaned, arc_tolerance=arc_tolerance)
        if result.error is not None:
            raise InputError(f"line {number}: {error_message(result.error)} ({raw.strip()[:60]})")
        position = state.position
        for action in result.actions:
            if isinstance(action, SpindleAction) and model.kind == "servo":
                down = model.servo_is_down(action.state, action.speed)
                if down != pen_down:
                    pen_down = down
                    moves.append(Move("pen", position, position, None, pen_down, line=number))
            elif isinstance(action, DwellAction):
                moves.append(Move("dwell", position, position, None, pen_down, action.seconds, number))
            elif isinstance(action, MotionAction):
                position, pen_down = _append_motion(moves, action, position, pen_down, model, number)
            elif isinstance(action, ProgramAction) and action.code in ("M2", "M30") and model.kind == "servo":
                if pen_down:  # program end switches the spindle (servo) off
                    pen_down = False
                    moves.append(Move("pen", position, position, None, False, line=number))
        state = result.state
    return moves


def _interpret_marlin(lines: Iterable[str], model: PenModel, arc_tolerance: float, state: GcodeState,
                      pen_down: bool) -> list[Move]:
    """Lenient Marlin reading: G0/G1/G2/G3/G4/G20/G21/G28/G90/G91/G92, M280 and Z pens."""
    moves: list[Move] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split(";", 1)[0].strip()
        if "*" in text:
            text = text.split("*", 1)[0].strip()
        words = text.upper().split()
        if words and words[0].startswith("N") and words[0][1:].lstrip("-").isdigit():
            words = words[1:]
        if not words:
            continue
        command = words[0]
        position = state.position
        if command.startswith("M"):
            if command == "M280" and model.kind == "m280":
                params = {w[0]: float(w[1:]) for w in words[1:] if len(w) > 1}
                if "S" in params:
                    down = model.angle_is_down(params["S"])
                    if down != pen_down:
                        pen_down = down
                        moves.append(Move("pen", position, position, None, pen_down, line=number))
            elif command in ("M3", "M4", "M5") and model.kind == "servo":
                params = {w[0]: float(w[1:]) for w in words[1:] if len(w) > 1}
                down = model.servo_is_down(command, params.get("S", state.spindle_speed))
                if down != pen_down:
                    pen_down = down
                    moves.append(Move("pen", position, position, None, pen_down, line=number))
            continue  # other M-codes (M400, M114, M84, M117 text...) do not move the pen
        if command in ("G4", "G04"):
            params = {w[0]: float(w[1:]) for w in words[1:] if len(w) > 1}
            seconds = params.get("S", 0.0) + params.get("P", 0.0) / 1000.0
            moves.append(Move("dwell", position, position, None, pen_down, seconds, number))
            continue
        if command in ("G28",):
            axes = [w[0] for w in words[1:] if w and w[0] in "XYZ"] or ["X", "Y", "Z"]
            target = tuple(0.0 if "XYZ"[k] in axes else position[k] for k in range(3))
            moves.append(Move("rapid", position, target, None, False, line=number))  # type: ignore[arg-type]
            state = replace(state, position=target)  # type: ignore[arg-type]
            continue
        cleaned = "".join(words)
        result = execute_block(state, cleaned, arc_tolerance=arc_tolerance)
        if result.error is not None:
            raise InputError(f"line {number}: unsupported or invalid G-code ({error_message(result.error)})")
        for action in result.actions:
            if isinstance(action, MotionAction):
                position, pen_down = _append_motion(moves, action, position, pen_down, model, number)
        state = result.state
    return moves


def strokes_from_moves(moves: Iterable[Move], *, min_points: int = 2) -> list[np.ndarray]:
    """The pen-down polylines drawn by ``moves``, in machine coordinates.

    Parameters
    ----------
    moves : iterable of Move
    min_points : int
        Strokes with fewer points are dropped (2: a pen dip without XY motion
        draws no line).

    Returns
    -------
    list of (N, 2) float64 arrays
        (x, y) in machine mm, in drawing order. A stroke ends when the pen
        lifts or the machine moves in XY with the pen up.
    """
    strokes: list[np.ndarray] = []
    current: list[tuple[float, float]] = []

    def flush() -> None:
        if len(current) >= min_points:
            strokes.append(np.asarray(current, dtype=np.float64))
        current.clear()

    for move in moves:
        if move.kind == "pen":
            if not move.pen_down:
                flush()
            else:
                flush()
                current.append((move.end[0], move.end[1]))
            continue
        if move.kind == "dwell":
            continue
        moved_xy = move.start[0] != move.end[0] or move.start[1] != move.end[1]
        if move.pen_down:
            if moved_xy:
                if not current:
                    current.append((move.start[0], move.start[1]))
                current.append((move.end[0], move.end[1]))
        elif moved_xy:
            flush()
    flush()
    return strokes
