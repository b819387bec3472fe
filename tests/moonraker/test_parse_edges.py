"""Slicer settings from gcode tails written in less common ways: Windows line endings cut
inside a value, Cura payloads escaped once, INI text that Python's parser would
interpolate or refuse, quoted values, speeds at the bottom of the range."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gql_server.moonraker.parse import parse_details, parse_job, parse_slicer_settings

CURA_CHUNK = 69  # characters of JSON per ;SETTING_3 line, as Cura's GCodeWriter cuts them


def cura_section(values: str, *, header: str = "[general]\nversion = 4\n\n[values]\n") -> str:
    return f"{header}{values}\n"


def cura_tail(
    global_quality: str, extruder_quality: str, *, newline: str = "\n", escape: bool = True
) -> str:
    """SETTING_3 lines; ``escape=False`` writes the JSON escaped once (older plugins)."""
    document = {"global_quality": global_quality, "extruder_quality": [extruder_quality]}
    text = json.dumps(document)
    if escape:
        text = text.replace("\\", "\\\\")
    chunks = (text[start : start + CURA_CHUNK] for start in range(0, len(text), CURA_CHUNK))
    lines = [";End of Gcode", *(f";SETTING_3 {chunk}" for chunk in chunks)]
    return "M104 S0" + newline + newline.join(lines) + newline


def test_cura_lines_with_windows_endings_are_read_whole() -> None:
    """The cuts fall inside keys and values: a stray CR would end up inside them."""
    values = "\n".join(f"setting_{n:02d} = {n}" for n in range(30))
    values += "\ninfill_sparse_density = 25\ninfill_pattern = gyroid\nspeed_print = 55"
    text = cura_tail(cura_section(values), cura_section(""), newline="\r\n")
    settings = parse_slicer_settings("Cura", text)
    expected = (25, "gyroid", 55)
    assert (settings["infill_percentage"], settings["infill_pattern"], settings["print_speed"]) == (
        expected
    )


def test_a_cura_payload_escaped_once_with_a_backslash_in_a_value_is_read() -> None:
    """Unescaping such a payload twice breaks the backslash; the payload as written loads."""
    values = "machine_name = C:\\printers\\ender\ninfill_sparse_density = 30"
    text = cura_tail(cura_section(values), cura_section(""), escape=False)
    assert parse_slicer_settings("Cura", text)["infill_percentage"] == 30


def test_cura_values_with_a_percent_sign_are_read_as_written() -> None:
    values = "machine_start_gcode = M117 Heating 100%\ninfill_sparse_density = 40"
    text = cura_tail(cura_section(values), cura_section("speed_print = 60"))
    settings = parse_slicer_settings("Cura", text)
    assert (settings["infill_percentage"], settings["print_speed"]) == (40, 60)


def test_a_repeated_cura_key_does_not_lose_the_profile() -> None:
    values = "infill_sparse_density = 10\ninfill_sparse_density = 35"
    text = cura_tail(cura_section(values), cura_section(""))
    assert parse_slicer_settings("Cura", text)["infill_percentage"] == 35


def test_cura_extruder_values_are_read_when_the_global_profile_has_none() -> None:
    global_quality = "[general]\nversion = 4\n"  # no [values] section
    text = cura_tail(global_quality, cura_section("infill_sparse_density = 45"))
    assert parse_slicer_settings("Cura", text)["infill_percentage"] == 45


def test_quoted_values_are_unquoted() -> None:
    text = (
        '; fill_density = "20%"\n; fill_pattern = "gyroid"\n'
        '; support_material = 1\n; support_material_style = "organic"\n'
    )
    settings = parse_slicer_settings("PrusaSlicer", text)
    assert (settings["infill_percentage"], settings["infill_pattern"]) == (20, "gyroid")
    assert settings["support_type"] == "organic"


def test_a_speed_of_1_mm_per_second_is_kept() -> None:
    settings = parse_slicer_settings("PrusaSlicer", "; fill_density = 20%\n; perimeter_speed = 1\n")
    assert settings["print_speed"] == 1


def test_a_recorded_job_keeps_its_user_times_and_durations(sample: Callable[[str], Any]) -> None:
    """tests/fixtures/moonraker/history_job_completed_exists.json, field by field (UTC)."""
    row = parse_job(sample("history_job_completed_exists.json")["result"]["job"])
    fields = ("user", "end_time", "print_duration", "total_duration", "filament_used")
    assert {name: row[name] for name in fields} == {
        "user": "No User",
        "end_time": datetime(2025, 12, 31, 2, 31, 58, 178086),
        "print_duration": 2759.771426,
        "total_duration": 5196.038466,
        "filament_used": 4053.151679,
    }


def test_joined_filament_types_fill_the_column_to_the_last_character() -> None:
    """Two values that together are exactly MAX_JOINED_CHARS (100) long are both kept."""
    first, second = "A" * 49, "B" * 50  # 49 + ";" + 50 = 100
    assert parse_details({"filament_type": f"{first};{second}"})["filament_type"] == (
        f"{first};{second}"
    )


def test_a_single_filament_type_over_the_column_is_cut_to_it() -> None:
    long_name = "P" * 120
    assert parse_details({"filament_type": long_name})["filament_type"] == "P" * 100


def test_a_cura_payload_with_escaped_line_breaks_but_single_backslashes_is_read() -> None:
    """A writer that escaped only the line breaks of indented JSON: the payload as written is
    not JSON (``\\n`` between tokens), unescaped it holds raw newlines inside its strings."""
    document = {
        "global_quality": cura_section("infill_sparse_density = 30"),
        "extruder_quality": [],
    }
    text = json.dumps(document, indent=1).replace("\n", "\\n")
    tail = "".join(
        f";SETTING_3 {text[i : i + CURA_CHUNK]}\n" for i in range(0, len(text), CURA_CHUNK)
    )
    assert parse_slicer_settings("Cura", tail)["infill_percentage"] == 30


def test_unquoting_removes_quotes_and_keeps_every_letter() -> None:
    text = '; fill_density = 20%\n; fill_pattern = "XgridX"\n'
    assert parse_slicer_settings("PrusaSlicer", text)["infill_pattern"] == "XgridX"
