"""Firmware profiles: bundled files load, every kind of mistake names the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from aikon.errors import ProfileError
from aikon.profiles import (
    FIRMWARES,
    Profile,
    bundled_profile_dir,
    list_profiles,
    load_profile,
    user_profile_dir,
)

BUNDLED = ("grbl-servo", "grbl-z", "marlin-servo", "marlin-z", "axidraw-v3")


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """No test sees the real user's profiles."""
    monkeypatch.setenv("AIKON_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def _bundled_text(name: str) -> str:
    return (bundled_profile_dir() / f"{name}.toml").read_text()


def write_profile(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    """Write a profile's TOML ``text`` to ``tmp_path / name`` (shared with test_gcode_writer)."""
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_profiles_load_frozen_and_consistent(name):
    profile = load_profile(name)
    assert isinstance(profile, Profile)
    assert profile.name == name
    assert profile.firmware in FIRMWARES
    assert profile.units == "mm"
    with pytest.raises(AttributeError):
        profile.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        profile.motion.draw_speed = 1.0  # type: ignore[misc]
    if profile.firmware == "grbl":
        assert profile.gcode.max_line_length <= 79
        assert profile.gcode.dwell_units == "s"
        assert profile.gcode.comments is False
        assert profile.serial.line_ending == "\n"
    if profile.firmware == "marlin":
        assert profile.gcode.dwell_units == "ms"
    if profile.firmware == "ebb":
        assert profile.ebb.steps_per_mm == 80.0
        assert "04D8:FD92" in profile.serial.usb_ids
    for vid_pid in profile.serial.usb_ids:
        assert re.fullmatch(r"[0-9A-F]{4}:[0-9A-F]{4}", vid_pid)


def test_list_profiles_has_bundled_and_user(isolated_config, tmp_path):
    names = [n for n, _, _ in list_profiles()]
    assert set(BUNDLED) <= set(names)
    user_dir = user_profile_dir()
    user_dir.mkdir(parents=True)
    text = _bundled_text("grbl-servo").replace('name = "grbl-servo"', 'name = "my-plotter"')
    (user_dir / "my-plotter.toml").write_text(text)
    rows = {n: (p, d) for n, p, d in list_profiles()}
    assert rows["my-plotter"][0] == user_dir / "my-plotter.toml"
    assert load_profile("my-plotter").name == "my-plotter"


def test_user_dir_follows_xdg_when_no_aikon_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("AIKON_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_profile_dir() == tmp_path / "xdg" / "aikon" / "profiles"


def test_unknown_name_lists_available():
    with pytest.raises(ProfileError) as info:
        load_profile("grbl-sevro")
    message = str(info.value)
    assert "grbl-sevro" in message
    for name in BUNDLED:
        assert name in message


def test_load_by_path(tmp_path):
    path = write_profile(tmp_path, _bundled_text("marlin-z"))
    assert load_profile(path).firmware == "marlin"
    assert load_profile(str(path)).source == str(path)


def test_inherits_overrides_only_given_keys(tmp_path):
    path = write_profile(tmp_path, 'inherits = "grbl-servo"\nname = "big"\ndescription = "bigger"\n'
                            '[work_area]\nwidth = 600.0\n')
    profile = load_profile(path)
    base = load_profile("grbl-servo")
    assert profile.work_area.width == 600.0
    assert profile.work_area.height == base.work_area.height
    assert profile.pen == base.pen


def _broken(tmp_path, old: str, new: str, base: str = "grbl-servo") -> Path:
    text = _bundled_text(base)
    assert old in text, old
    return write_profile(tmp_path, text.replace(old, new, 1))


@pytest.mark.parametrize("old, new, key, words", [
    ("junction_deviation = 0.01", "junction_deviation = 0.01\njunction_deviaton = 0.02", "motion.junction_deviaton", "unknown key"),
    ("draw_speed = 50.0", "", "motion.draw_speed", "missing key"),
    ("draw_speed = 50.0", 'draw_speed = "50 mm/s"', "motion.draw_speed", "must be a number"),
    ("draw_speed = 50.0", "draw_speed = -5.0", "motion.draw_speed", "greater than 0"),
    ("draw_speed = 50.0", "draw_speed = 3000.0", "motion.draw_speed", "mm/min"),
    ('units = "mm"', 'units = "inch"', "units", "millimetres"),
    ("park = [0.0, 0.0]", "park = [0.0, 400.0]", "end.park", "outside the work area"),
    ("park = [0.0, 0.0]", "park = [0.0]", "end.park", "two numbers"),
    ('dwell_units = "s"', 'dwell_units = "ms"', "gcode.dwell_units", "grbl reads G4 P in 's'"),
    ('origin = "front-left"', 'origin = "middle"', "work_area.origin", "must be one of"),
    ("x_sign = 1", "x_sign = 2", "work_area.x_sign", "1 or -1"),
    ("max_line_length = 79", "max_line_length = 120", "gcode.max_line_length", "79"),
    ("comments = false", "comments = true", "gcode.comments", "real-time"),
    ('line_ending = "\\n"', 'line_ending = "\\r\\n"', "serial.line_ending", "GRBL"),
    ('"1A86:7523"', '"1A86-7523"', "serial.usb_ids", "VID:PID"),
    ("baud = 115200", "baud = 115201", "serial.baud", "baud"),
    ('mode = "servo"', 'mode = "laser"', "pen.mode", "must be one of"),
    ('up_command = "M3 S30"', 'up_command = "M3 S30 ; up"', "pen.up_command", "comments"),
    ('up_command = "M3 S30"', "", "pen.up_command", "missing key"),
    ("up_delay = 0.15", "up_delay = 150.0", "pen.up_delay", "seconds"),
    ("home = false", "home = 0", "start.home", "true or false"),
    ('firmware = "grbl"', 'firmware = "smoothie"', "firmware", "must be one of"),
])
def test_validation_names_file_and_key(tmp_path, old, new, key, words):
    path = _broken(tmp_path, old, new)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert str(path) in message
    assert f": {key}:" in message
    assert words in message


@pytest.mark.parametrize("old, new, message", [
    ("up_z = 5.0", "up_z = -1.0", r"pen\.up_z: must be above pen\.down_z"),
    ("z_speed = 10.0", 'z_speed = 10.0\nup_command = "M5"', r"pen\.up_command: only used when pen\.mode = 'servo'"),
    ("z_acceleration = 200.0", "", r"pen\.z_acceleration: missing key \(needed when pen\.mode = 'z'\)"),
])
def test_z_mode_rules(tmp_path, old, new, message):
    with pytest.raises(ProfileError, match=message):
        load_profile(_broken(tmp_path, old, new, base="grbl-z"))


def test_stray_table_for_firmware(tmp_path):
    path = write_profile(tmp_path, _bundled_text("grbl-servo") + "\n[ebb]\nsteps_per_mm = 80.0\n")
    with pytest.raises(ProfileError, match=r": ebb: unknown table for firmware 'grbl'"):
        load_profile(path)


def test_bad_toml_and_missing_file(tmp_path):
    path = write_profile(tmp_path, "name = \n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(path)
    with pytest.raises(ProfileError, match="file not found"):
        load_profile(tmp_path / "absent.toml")


def test_invalid_user_file_is_listed_with_reason(isolated_config):
    user_dir = user_profile_dir()
    user_dir.mkdir(parents=True)
    (user_dir / "broken.toml").write_text('name = "broken"\n')
    rows = {n: d for n, _, d in list_profiles()}
    assert rows["broken"].startswith("INVALID:")


@pytest.mark.parametrize("origin, x_sign, y_sign, expected", [
    # page point (10, 20) on a 100 x 50 page
    ("top-left", 1, 1, (10.0, 20.0)),
    ("bottom-left", 1, 1, (10.0, 30.0)),
    ("front-left", 1, 1, (10.0, 30.0)),
    ("top-right", 1, 1, (90.0, 20.0)),
    ("bottom-right", 1, 1, (90.0, 30.0)),
    ("back-right", -1, -1, (-90.0, -20.0)),
])
def test_machine_frame_origins_and_signs(tmp_path, origin, x_sign, y_sign, expected):
    text = (_bundled_text("grbl-servo").replace('origin = "front-left"', f'origin = "{origin}"')
            .replace("x_sign = 1", f"x_sign = {x_sign}").replace("y_sign = 1", f"y_sign = {y_sign}"))
    profile = load_profile(write_profile(tmp_path, text))
    frame = profile.frame(100.0, 50.0)
    page = np.array([[10.0, 20.0]])
    machine = frame.to_machine(page)
    assert machine[0].tolist() == list(expected)
    np.testing.assert_allclose(frame.to_page(machine), page)
