"""GRBL protocol: parsers on recorded exchanges, framing rules, character counting, stop sequences."""

from __future__ import annotations

import pytest

from aikon.errors import FirmwareError, InputError, PortError
from aikon.plotter.grbl import (GrblClient, check_line, needs_send_response, parse_response, parse_status,
                                prepare_line, stream_lines)
from aikon.plotter.transport import RecordingTransport
from test_job_fake_device import FakeGrbl

# A session recorded from GRBL 1.1h on an Arduino Uno (interface.md formats).
RECORDED = [
    ("", "empty"),
    ("Grbl 1.1h ['$' for help]", "banner"),
    ("[MSG:'$H'|'$X' to unlock]", "message"),
    ("ok", "ok"),
    ("error:9", "error"),
    ("ALARM:2", "alarm"),
    ("[MSG:Reset to continue]", "message"),
    ("<Idle|MPos:0.000,0.000,0.000|FS:0,0|WCO:0.000,0.000,0.000>", "status"),
    ("<Run|MPos:12.345,-3.000,0.000|FS:1500,90|Ov:100,100,100>", "status"),
    ("[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]", "feedback"),
    ("$110=6000.000", "setting"),
    (">G20G54G17:ok", "startup"),
    ("oj", "unknown"),
]


@pytest.mark.parametrize("text,kind", RECORDED)
def test_parse_response_classifies_recorded_lines(text, kind):
    response = parse_response(text + "\r\n")
    assert response.kind == kind
    assert response.retires_line == (kind in ("ok", "error"))


def test_error_and_alarm_carry_grbl_meanings():
    err = parse_response("error:20")
    assert err.code == 20 and "Unsupported" in err.meaning
    alarm = parse_response("ALARM:1")
    assert alarm.code == 1 and "limit" in alarm.meaning.lower()


def test_parse_status_fields_in_any_order():
    s = parse_status("<Hold:0|WPos:1.000,2.000,3.000|Bf:15,128|Ln:99|F:500>")
    assert (s.state, s.substate, s.wpos, s.mpos) == ("Hold", 0, (1.0, 2.0, 3.0), None)
    assert (s.planner_blocks_free, s.rx_bytes_free, s.line_number, s.feed_mm_min) == (15, 128, 99, 500.0)
    s = parse_status("<Run|FS:1500,90|MPos:12.345,-3.000,0.000>")
    assert s.mpos == (12.345, -3.0, 0.0) and s.feed_mm_min == 1500 and s.spindle == 90
    with pytest.raises(ValueError):
        parse_status("<Dancing|MPos:0,0,0>")
    with pytest.raises(ValueError):
        parse_status("<Idle|MPos:1,x,0>")


def test_work_position_uses_cached_wco():
    client = GrblClient(FakeGrbl())
    for text in ("<Idle|MPos:10.000,20.000,0.000|FS:0,0|WCO:5.000,5.000,0.000>", "<Run|MPos:11.000,21.000,0.000|FS:0,0>"):
        client._handle(text)
    assert client.work_position() == (6.0, 16.0, 0.0)


def test_prepare_and_check_lines():
    assert prepare_line("g1 x10.5 y2 (go ? there) ; and ! this") == "G1X10.5Y2"
    assert prepare_line("  (only a comment)  ") == ""
    for bad in ("G1X1?", "G1X1!", "G1X~", "G1X1\x18", "G1X1é", "G1(X)", "G1X1;c", "G1X" + "1" * 80, ""):
        with pytest.raises(InputError):
            check_line(bad)
    check_line("G1X10.5Y2F3000")


def test_eeprom_writes_are_recognised():
    assert needs_send_response("$110=6000") and needs_send_response("G10 L20 P1 X0 Y0")
    assert needs_send_response("G28.1") and needs_send_response("$RST=*") and needs_send_response("$N0=G21")
    assert not needs_send_response("G1 X10") and not needs_send_response("G28")


def _connect(dev, **kwargs):
    client = GrblClient(dev, **kwargs)
    assert client.connect(banner_timeout_s=0.5) == "1.1h"
    return client


def test_character_counting_never_exceeds_rx_buffer_and_keeps_it_full():
    dev = FakeGrbl(lines_per_read=1)
    client = _connect(dev)
    lines = [f"G1X{i % 50}.{i % 7}Y{(i * 3) % 40}.25F3000" for i in range(400)]
    stream_lines(client, lines, timeout_s=30)
    assert not dev.overflow and dev.rx_max <= 128
    assert client.max_in_flight_bytes <= 128
    assert dev.rx_max >= 128 - 22  # within one line of full
    assert dev.received_lines == [prepare_line(l) for l in lines]


def test_send_response_keeps_one_line_in_flight():
    dev = FakeGrbl(lines_per_read=3)
    client = _connect(dev, send_response=True)
    stream_lines(client, [f"G1X{i}Y0F3000" for i in range(30)], timeout_s=30)
    assert client.max_in_flight_bytes == max(len(f"G1X{i}Y0F3000") + 1 for i in range(30))
    assert dev.rx_max <= client.max_in_flight_bytes


def test_eeprom_line_goes_alone():
    dev = FakeGrbl(lines_per_read=1)
    client = _connect(dev)
    client.send_line("G1X1Y1F100")
    assert not client.can_send("$110=6000")
    stream_lines(client, [], timeout_s=5)
    assert client.can_send("$110=6000")


def test_only_checked_lines_and_single_realtime_bytes_cross_the_transport():
    """At the transport boundary: no real-time byte, comment or non-ASCII inside a line."""
    dev = FakeGrbl(lines_per_read=2)
    wire = RecordingTransport(dev)
    client = GrblClient(wire)
    client.connect(banner_timeout_s=0.5)
    client.polling = True
    stream_lines(client, ["G21 G90 (units? mm!)", "G1 X1 Y1 F600 ; fast~", "(é comment ?)", "G1 X2 Y2"],
                 timeout_s=10)
    with pytest.raises(InputError):
        client.send_line("G1X3?")
    with pytest.raises(InputError):
        client.send_line("G1X3é")
    assert wire.writes, "nothing was sent"
    for chunk in wire.writes:
        if len(chunk) == 1 and chunk in (b"?", b"!", b"~", b"\x18"):
            continue
        assert chunk.endswith(b"\n") and chunk.count(b"\n") == 1 and b"\r" not in chunk
        body = chunk[:-1]
        assert all(0x20 < b < 0x7F for b in body), chunk
        assert not set(body) & set(b"?!~();"), chunk
    assert b"?" in wire.writes  # status polls went out as single bytes


def test_banner_wait_soft_resets_a_silent_board_and_times_out_clearly():
    dev = FakeGrbl(banner_on_open=False)
    client = GrblClient(dev)
    assert client.connect(banner_timeout_s=0.2) == "1.1h"
    assert b"\x18" in dev.writes
    mute = FakeGrbl(silent=True)
    mute.out.clear()
    mute_client = GrblClient(mute)
    mute.write = lambda data: mute.writes.append(bytes(data))  # never answers, not even to a reset
    with pytest.raises(PortError, match="no GRBL banner"):
        mute_client.connect(banner_timeout_s=0.2)


def test_error_stops_stream_with_meaning():
    dev = FakeGrbl(error_at=3)
    client = _connect(dev)
    with pytest.raises(FirmwareError, match="Unsupported"):
        stream_lines(client, [f"G1X{i}Y0F600" for i in range(10)], timeout_s=10)


def test_alarm_clears_counters_and_locks_out():
    dev = FakeGrbl(alarm_at=2)
    client = _connect(dev)
    with pytest.raises(FirmwareError, match="ALARM:1"):
        stream_lines(client, [f"G1X{i}Y0F600" for i in range(10)], timeout_s=10)
    assert client.in_flight_bytes == 0 and client.locked_out and client.needs_reset
    assert not client.can_send("G1X0")
    with pytest.raises(FirmwareError):
        client.send_line("G1X0")


def test_stop_sequence_holds_then_resets():
    dev = FakeGrbl(lines_per_read=4)
    client = _connect(dev)
    for i in range(6):
        client.send_line(f"G1X{i + 1}Y0F600")
    client.service(0)
    status = client.stop(timeout_s=5)
    assert status.state == "Hold" and status.substate == 0
    hold_at, reset_at = dev.writes.index(b"!"), dev.writes.index(b"\x18")
    assert hold_at < reset_at
    assert client.in_flight_count == 0 and not dev.planner


def test_unexpected_reset_locks_streaming():
    dev = FakeGrbl()
    client = _connect(dev)
    dev.out += b"Grbl 1.1h ['$' for help]\r\n"
    events = client.service(0)
    assert [e.kind for e in events] == ["reset"] and client.locked_out
