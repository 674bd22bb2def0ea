"""Serial ports present on this computer, with their USB ids and the profiles that match them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class PortInfo:
    """One serial port.

    Attributes
    ----------
    device : str
        What to pass to ``--port`` (``/dev/ttyUSB0``, ``COM3``...).
    usb_id : str or None
        ``VID:PID`` in upper-case hex for USB ports, else None.
    description : str
    manufacturer, serial_number : str or None
    profiles : tuple of str
        Names of the profiles whose ``serial.usb_ids`` contain ``usb_id``.
    """

    device: str
    usb_id: str | None
    description: str
    manufacturer: str | None
    serial_number: str | None
    profiles: tuple[str, ...] = ()


def usb_id(vid: int | None, pid: int | None) -> str | None:
    """``"2341:0043"`` from numeric ids (None if either is missing)."""
    if vid is None or pid is None:
        return None
    return f"{vid:04X}:{pid:04X}"


def profiles_by_usb_id(profiles: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Map ``VID:PID`` (upper case) to the names of the profiles that list it."""
    table: dict[str, list[str]] = {}
    for profile in profiles:
        for uid in profile.serial.usb_ids:
            table.setdefault(uid.upper(), []).append(profile.name)
    return {k: tuple(v) for k, v in table.items()}


def describe_ports(raw_ports: Iterable[Any], profiles: Iterable[Any]) -> list[PortInfo]:
    """Turn ``serial.tools.list_ports`` entries into :class:`PortInfo` with matching profiles (pure)."""
    table = profiles_by_usb_id(profiles)
    out = []
    for p in raw_ports:
        uid = usb_id(getattr(p, "vid", None), getattr(p, "pid", None))
        desc = getattr(p, "description", "") or ""
        out.append(PortInfo(p.device, uid, "" if desc == "n/a" else desc, getattr(p, "manufacturer", None),
                            getattr(p, "serial_number", None), table.get(uid, ()) if uid else ()))
    return sorted(out, key=lambda info: (info.usb_id is None, info.device))


def list_ports() -> list[PortInfo]:
    """The serial ports present now, each with the profiles whose USB ids match."""
    from serial.tools import list_ports as lp

    from aikon.errors import ProfileError
    from aikon.profiles import list_profiles, load_profile

    profiles = []
    for _name, path, _desc in list_profiles():
        try:
            profiles.append(load_profile(path))
        except ProfileError:
            continue  # an invalid user profile must not hide the ports
    return describe_ports(lp.comports(), profiles)
