"""GRBL 1.1 message tables: error codes, alarm codes and settings.

Taken from GRBL 1.1's own tables (gnea/grbl ``doc/csv/error_codes_en_US.csv``,
``alarm_codes_en_US.csv``, ``setting_codes_en_US.csv``). Shared by the
protocol client (to explain ``error:N`` / ``ALARM:N`` to the user), the G-code
reader and the simulator.

>>> error_message(20)
'error:20 Unsupported command: Unsupported or invalid g-code command found in block.'
>>> alarm_message(3)
'ALARM:3 Abort during cycle: Reset while in motion. Machine position is likely lost due to sudden halt. Re-homing is highly recommended.'
"""

from __future__ import annotations

# code -> (short name, description)
GRBL_ERRORS: dict[int, tuple[str, str]] = {
    1: ("Expected command letter", "G-code words consist of a letter and a value. Letter was not found."),
    2: ("Bad number format", "Missing the expected G-code word value or numeric value format is not valid."),
    3: ("Invalid statement", "Grbl '$' system command was not recognized or supported."),
    4: ("Value < 0", "Negative value received for an expected positive value."),
    5: ("Setting disabled", "Homing cycle failure. Homing is not enabled via settings."),
    6: ("Value < 3 usec", "Minimum step pulse time must be greater than 3usec."),
    7: ("EEPROM read fail. Using defaults", "An EEPROM read failed. Auto-restoring affected EEPROM to default values."),
    8: ("Not idle", "Grbl '$' command cannot be used unless Grbl is IDLE. Ensures smooth operation during a job."),
    9: ("G-code lock", "G-code commands are locked out during alarm or jog state."),
    10: ("Homing not enabled", "Soft limits cannot be enabled without homing also enabled."),
    11: ("Line overflow", "Max characters per line exceeded. Received command line was not executed."),
    12: ("Step rate > 30kHz", "Grbl '$' setting value cause the step rate to exceed the maximum supported."),
    13: ("Check Door", "Safety door detected as opened and door state initiated."),
    14: ("Line length exceeded", "Build info or startup line exceeded EEPROM line length limit. Line not stored."),
    15: ("Travel exceeded", "Jog target exceeds machine travel. Jog command has been ignored."),
    16: ("Invalid jog command", "Jog command has no '=' or contains prohibited g-code."),
    17: ("Setting disabled", "Laser mode requires PWM output."),
    20: ("Unsupported command", "Unsupported or invalid g-code command found in block."),
    21: ("Modal group violation", "More than one g-code command from same modal group found in block."),
    22: ("Undefined feed rate", "Feed rate has not yet been set or is undefined."),
    23: ("Invalid gcode ID:23", "G-code command in block requires an integer value."),
    24: ("Invalid gcode ID:24", "More than one g-code command that requires axis words found in block."),
    25: ("Invalid gcode ID:25", "Repeated g-code word found in block."),
    26: ("Invalid gcode ID:26", "No axis words found in block for g-code command or current modal state which requires them."),
    27: ("Invalid gcode ID:27", "Line number value is invalid."),
    28: ("Invalid gcode ID:28", "G-code command is missing a required value word."),
    29: ("Invalid gcode ID:29", "G59.x work coordinate systems are not supported."),
    30: ("Invalid gcode ID:30", "G53 only allowed with G0 and G1 motion modes."),
    31: ("Invalid gcode ID:31", "Axis words found in block when no command or current modal state uses them."),
    32: ("Invalid gcode ID:32", "G2 and G3 arcs require at least one in-plane axis word."),
    33: ("Invalid gcode ID:33", "Motion command target is invalid."),
    34: ("Invalid gcode ID:34", "Arc radius value is invalid."),
    35: ("Invalid gcode ID:35", "G2 and G3 arcs require at least one in-plane offset word."),
    36: ("Invalid gcode ID:36", "Unused value words found in block."),
    37: ("Invalid gcode ID:37", "G43.1 dynamic tool length offset is not assigned to configured tool length axis."),
    38: ("Invalid gcode ID:38", "Tool number greater than max supported value."),
}

GRBL_ALARMS: dict[int, tuple[str, str]] = {
    1: ("Hard limit", "Hard limit has been triggered. Machine position is likely lost due to sudden halt. "
                      "Re-homing is highly recommended."),
    2: ("Soft limit", "Soft limit alarm. G-code motion target exceeds machine travel. Machine position retained. "
                      "Alarm may be safely unlocked."),
    3: ("Abort during cycle", "Reset while in motion. Machine position is likely lost due to sudden halt. "
                              "Re-homing is highly recommended."),
    4: ("Probe fail", "Probe fail. Probe is not in the expected initial state before starting probe cycle when "
                      "G38.2 and G38.3 is not triggered and G38.4 and G38.5 is triggered."),
    5: ("Probe fail", "Probe fail. Probe did not contact the workpiece within the programmed travel for G38.2 and G38.4."),
    6: ("Homing fail", "Homing fail. The active homing cycle was reset."),
    7: ("Homing fail", "Homing fail. Safety door was opened during homing cycle."),
    8: ("Homing fail", "Homing fail. Pull off travel failed to clear limit switch. Try increasing pull-off setting "
                       "or check wiring."),
    9: ("Homing fail", "Homing fail. Could not find limit switch within search distances. Try increasing max travel, "
                       "decreasing pull-off distance, or check wiring."),
}

# $-setting number -> (name, unit)
GRBL_SETTINGS: dict[int, tuple[str, str]] = {
    0: ("Step pulse time", "microseconds"),
    1: ("Step idle delay", "milliseconds"),
    2: ("Step pulse invert", "mask"),
    3: ("Step direction invert", "mask"),
    4: ("Invert step enable pin", "boolean"),
    5: ("Invert limit pins", "boolean"),
    6: ("Invert probe pin", "boolean"),
    10: ("Status report options", "mask"),
    11: ("Junction deviation", "millimeters"),
    12: ("Arc tolerance", "millimeters"),
    13: ("Report in inches", "boolean"),
    20: ("Soft limits enable", "boolean"),
    21: ("Hard limits enable", "boolean"),
    22: ("Homing cycle enable", "boolean"),
    23: ("Homing direction invert", "mask"),
    24: ("Homing locate feed rate", "mm/min"),
    25: ("Homing search seek rate", "mm/min"),
    26: ("Homing switch debounce delay", "milliseconds"),
    27: ("Homing switch pull-off distance", "millimeters"),
    30: ("Maximum spindle speed", "RPM"),
    31: ("Minimum spindle speed", "RPM"),
    32: ("Laser-mode enable", "boolean"),
    100: ("X-axis travel resolution", "step/mm"),
    101: ("Y-axis travel resolution", "step/mm"),
    102: ("Z-axis travel resolution", "step/mm"),
    110: ("X-axis maximum rate", "mm/min"),
    111: ("Y-axis maximum rate", "mm/min"),
    112: ("Z-axis maximum rate", "mm/min"),
    120: ("X-axis acceleration", "mm/sec^2"),
    121: ("Y-axis acceleration", "mm/sec^2"),
    122: ("Z-axis acceleration", "mm/sec^2"),
    130: ("X-axis maximum travel", "millimeters"),
    131: ("Y-axis maximum travel", "millimeters"),
    132: ("Z-axis maximum travel", "millimeters"),
}

#: Real-time command bytes (act on receipt, never enter a line).
RT_STATUS = 0x3F        # '?'
RT_CYCLE_START = 0x7E   # '~'
RT_FEED_HOLD = 0x21     # '!'
RT_SOFT_RESET = 0x18    # Ctrl-X
RT_SAFETY_DOOR = 0x84
RT_JOG_CANCEL = 0x85
REALTIME_BYTES = frozenset({RT_STATUS, RT_CYCLE_START, RT_FEED_HOLD, RT_SOFT_RESET})

RX_BUFFER_SIZE = 128      #: bytes in GRBL's serial receive buffer (Arduino Uno build)
LINE_BUFFER_SIZE = 80     #: bytes in the line buffer, terminating NUL included
MAX_LINE_LENGTH = LINE_BUFFER_SIZE - 1  #: characters per line after stripping
PLANNER_BLOCKS = 16       #: planner ring buffer size (one slot is kept free: 15 usable)
BANNER = "Grbl 1.1h ['$' for help]"


def error_message(code: int) -> str:
    """One line for the user: ``error:N Name: description`` (unknown codes say so)."""
    if code in GRBL_ERRORS:
        name, text = GRBL_ERRORS[code]
        return f"error:{code} {name}: {text}"
    return f"error:{code} (unknown GRBL error code)"


def alarm_message(code: int) -> str:
    """One line for the user: ``ALARM:N Name: description`` (unknown codes say so)."""
    if code in GRBL_ALARMS:
        name, text = GRBL_ALARMS[code]
        return f"ALARM:{code} {name}: {text}"
    return f"ALARM:{code} (unknown GRBL alarm code)"
