import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.parse import (
    MAX_JOINED_CHARS,
    SETTINGS_KEYS,
    parse_details,
    parse_job,
    parse_slicer_settings,
)
from gql_server.services.jobs import DETAIL_COLUMNS as STORED_DETAIL_COLUMNS
from gql_server.services.jobs import JOB_COLUMNS as STORED_JOB_COLUMNS
from gql_server.services.jobs import KEY_COLUMNS
from tests.support.fake_moonraker import GCODES, SAMPLES

Sample = Callable[[str], Any]

EXPECTED_SETTINGS: dict[str, dict[str, Any]] = json.loads(
    (GCODES / "expected.json").read_text(encoding="utf-8")
)
METADATA_SAMPLES = sorted(path.name for path in SAMPLES.glob("files_metadata_*"))
# What the import writes: the model's columns (services.jobs derives them from it).
JOB_COLUMNS = {*KEY_COLUMNS, *STORED_JOB_COLUMNS} - {"printer_id"}
DETAIL_COLUMNS = {*STORED_DETAIL_COLUMNS, "slicer", "slicer_version"}
NO_SETTINGS = dict.fromkeys(SETTINGS_KEYS)


def recorded_job(sample: Sample, name: str) -> dict[str, Any]:
    return sample(f"history_job_{name}.json")["result"]["job"]


def metadata_by_filename(sample: Sample) -> dict[str, dict[str, Any]]:
    documents = (sample(name)["result"] for name in METADATA_SAMPLES)
    return {metadata["filename"]: metadata for metadata in documents}


def gcode_text(filename: str) -> str:
    return (GCODES / filename).read_text(encoding="utf-8")


def cura_tail(global_values: str, extruder_values: str) -> str:
    """SETTING_3 lines escaped and cut as Cura's GCodeWriter does."""
    document = {
        "global_quality": f"[general]\nversion = 4\n\n[values]\n{global_values}\n",
        "extruder_quality": [f"[general]\nversion = 4\n\n[values]\n{extruder_values}\n"],
    }
    escaped = json.dumps(document).replace("\\", "\\\\")
    chunks = (escaped[start : start + 69] for start in range(0, len(escaped), 69))
    return "M104 S0\n;End of Gcode\n" + "".join(f";SETTING_3 {chunk}\n" for chunk in chunks)


# parse_job ---------------------------------------------------------------------------


def test_job_row_has_exactly_the_print_jobs_columns(sample: Sample) -> None:
    assert set(parse_job(recorded_job(sample, "completed_exists"))) == JOB_COLUMNS


def test_job_times_are_naive_utc_with_microseconds(sample: Sample) -> None:
    row = parse_job(recorded_job(sample, "completed_exists"))
    assert row["start_time"] == datetime(2025, 12, 31, 1, 5, 22, 139620)
    assert row["start_time"].tzinfo is None


def test_interrupted_job_has_no_end_time(sample: Sample) -> None:
    row = parse_job(recorded_job(sample, "interrupted"))
    assert (row["status"], row["end_time"]) == ("interrupted", None)


def test_job_id_is_upper_cased(sample: Sample) -> None:
    assert parse_job(recorded_job(sample, "lowercase_uid"))["job_id"] == "0000C5"


def test_job_keeps_moonrakers_values_and_float_artefacts(sample: Sample) -> None:
    raw = recorded_job(sample, "completed_exists") | {"filament_used": 1581.4299999999998}
    row = parse_job(raw)
    assert row["filament_used"] == 1581.4299999999998
    assert (row["job_metadata"], row["auxiliary_data"]) == (raw["metadata"], raw["auxiliary_data"])


def test_job_keeps_non_ascii_filenames(sample: Sample) -> None:
    filename = "Überhang/测试 [a] bin 2×3.gcode"
    raw = recorded_job(sample, "completed_exists") | {"filename": filename}
    assert parse_job(raw)["filename"] == filename


def test_every_recorded_job_parses(sample: Sample) -> None:
    jobs = sample("history_list_default.json")["result"]["jobs"]
    rows = [parse_job(job) for job in jobs]
    assert [row["job_id"] for row in rows] == [job["job_id"] for job in jobs]


@pytest.mark.parametrize("key", ["job_id", "filename", "status", "start_time"])
def test_job_without_a_required_field_is_a_bad_response(sample: Sample, key: str) -> None:
    raw = recorded_job(sample, "completed_exists")
    del raw[key]
    with pytest.raises(MoonrakerError) as caught:
        parse_job(raw)
    assert caught.value.code == "BAD_RESPONSE"


@pytest.mark.parametrize(
    ("key", "value"),
    [("job_id", 197), ("filename", None), ("status", ""), ("start_time", "yesterday"),
     ("start_time", True), ("start_time", 1e300)],
)  # fmt: skip
def test_job_with_a_mistyped_required_field_is_a_bad_response(
    sample: Sample, key: str, value: Any
) -> None:
    raw = recorded_job(sample, "completed_exists") | {key: value}
    with pytest.raises(MoonrakerError) as caught:
        parse_job(raw)
    assert caught.value.code == "BAD_RESPONSE"


def test_job_with_odd_optional_fields_gets_nulls(sample: Sample) -> None:
    odd = {"end_time": "soon", "print_duration": "long", "metadata": [], "auxiliary_data": {}}
    row = parse_job(recorded_job(sample, "completed_exists") | odd)
    assert (row["end_time"], row["print_duration"]) == (None, None)
    assert (row["job_metadata"], row["auxiliary_data"]) == ({}, None)


# parse_details ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", METADATA_SAMPLES)
def test_details_map_each_metadata_sample(sample: Sample, name: str) -> None:
    metadata = sample(name)["result"]
    colors = metadata.get("filament_colors")
    estimate = metadata.get("estimated_time")
    expected = {
        "layer_height": metadata.get("layer_height"),
        "first_layer_height": metadata.get("first_layer_height"),
        "nozzle_temp": round(metadata["first_layer_extr_temp"]),
        "bed_temp": round(metadata["first_layer_bed_temp"]),
        "print_speed": None,
        "infill_percentage": None,
        "infill_pattern": None,
        "support_enabled": None,
        "support_type": None,
        "filament_type": metadata.get("filament_type"),
        "filament_brand": metadata.get("filament_name"),
        "filament_color": ";".join(colors) if colors else None,
        "estimated_time": None if estimate is None else round(estimate),
        "estimated_filament": metadata.get("filament_weight_total"),
        "layer_count": metadata.get("layer_count"),
        "object_height": metadata.get("object_height"),
        "raw_metadata": metadata,
        "slicer": None if metadata["slicer"] == "Unknown" else metadata["slicer"],
        "slicer_version": None if metadata["slicer_version"] == "?" else metadata["slicer_version"],
    }
    assert parse_details(metadata) == expected


def test_cura_float_estimate_and_temperatures_become_ints(sample: Sample) -> None:
    details = parse_details(sample("files_metadata_cura.json")["result"])
    keys = ("estimated_time", "nozzle_temp", "bed_temp")
    assert {key: type(details[key]) for key in keys} == dict.fromkeys(keys, int)


def test_moonrakers_unknown_slicer_placeholder_is_null(sample: Sample) -> None:
    details = parse_details(sample("files_metadata_unknown_slicer.json")["result"])
    assert (details["slicer"], details["slicer_version"]) == (None, None)


def test_empty_metadata_gives_null_details(sample: Sample) -> None:
    metadata = parse_job(recorded_job(sample, "empty_metadata"))["job_metadata"]
    details = parse_details(metadata)
    assert set(details) == DETAIL_COLUMNS
    assert details == dict.fromkeys(DETAIL_COLUMNS) | {"raw_metadata": {}}


def test_metadata_of_every_recorded_job_maps(sample: Sample) -> None:
    jobs = sample("history_list_default.json")["result"]["jobs"]
    assert all(set(parse_details(job["metadata"])) == DETAIL_COLUMNS for job in jobs)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ('["PLA","PETG"]', "PLA;PETG"),
        ("PLA;PETG", "PLA;PETG"),
        ("PLA;PLA;PETG;PLA", "PLA;PETG"),
        (["PETG", "PLA"], "PETG;PLA"),
        (' "PLA";"PETG" ', "PLA;PETG"),
        ("  PLA  ", "PLA"),
        ("", None),
        (";", None),
    ],
)
def test_multi_material_filament_types_are_distinct_and_joined(
    written: Any, stored: str | None
) -> None:
    assert parse_details({"filament_type": written})["filament_type"] == stored


def test_quoted_filament_names_unquoted_by_moonraker_are_split() -> None:
    details = parse_details({"filament_name": 'Prusament PLA";"Prusament PETG Jet Black'})
    assert details["filament_brand"] == "Prusament PLA;Prusament PETG Jet Black"


def test_several_filament_colors_are_joined() -> None:
    details = parse_details({"filament_colors": ["#FF8000", "#FFFFFF", "#FF8000"]})
    assert details["filament_color"] == "#FF8000;#FFFFFF"


def test_joined_filament_types_keep_whole_values_within_the_column() -> None:
    written = ";".join(f"TYPE{index:02}" for index in range(30))
    stored = parse_details({"filament_type": written})["filament_type"]
    assert len(stored) <= MAX_JOINED_CHARS
    assert written.startswith(stored + ";")


def test_blank_strings_become_null() -> None:
    details = parse_details({"slicer": "  ", "filament_name": "", "filament_colors": [""]})
    assert (details["slicer"], details["filament_brand"], details["filament_color"]) == (None,) * 3


# parse_slicer_settings -------------------------------------------------------------------


@pytest.mark.parametrize("filename", sorted(EXPECTED_SETTINGS))
def test_slicer_settings_of_each_gcode_tail(sample: Sample, filename: str) -> None:
    slicer = metadata_by_filename(sample)[filename]["slicer"]
    settings = parse_slicer_settings(slicer, gcode_text(filename))
    assert settings == EXPECTED_SETTINGS[filename]


@pytest.mark.parametrize("filename", sorted(EXPECTED_SETTINGS))
def test_slicer_is_sniffed_when_not_named(filename: str) -> None:
    assert parse_slicer_settings(None, gcode_text(filename)) == EXPECTED_SETTINGS[filename]


def test_slicer_name_is_case_insensitive() -> None:
    text = gcode_text("3DBenchy_0.15mm_PLA_1h22m.gcode")
    assert parse_slicer_settings("prusaslicer", text)["infill_percentage"] == 15


@pytest.mark.parametrize(
    "text",
    [
        "",
        "G1 X10 Y10 E1\nM104 S0\nM84\n",
        "\x00\ufffd\ufffd; fill_density\n;;; = =\n",
        "; fill_density = lots%\n; support_material = maybe\n; perimeter_speed = fast\n",
        "; fill_density = 250%\n; perimeter_speed = -5\n",
        "; sparse_infill_density = nan%\n; inner_wall_speed = inf\n",
        ";SETTING_3 {not json at all\n",
        ';SETTING_3 {"global_quality": 5, "extruder_quality": "x"}\n',
        ';SETTING_3 {"global_quality": "no section header"}\n',
        ";SETTING_3 " + "[" * 5000 + "\n",
    ],
)
@pytest.mark.parametrize("slicer", [None, "PrusaSlicer", "OrcaSlicer", "Cura", "Unknown"])
def test_garbage_gives_no_settings(slicer: str | None, text: str) -> None:
    assert parse_slicer_settings(slicer, text) == NO_SETTINGS


@pytest.mark.parametrize("filename", sorted(EXPECTED_SETTINGS))
def test_a_tail_cut_anywhere_never_raises(sample: Sample, filename: str) -> None:
    text = gcode_text(filename)
    slicer = metadata_by_filename(sample)[filename]["slicer"]
    results = [parse_slicer_settings(slicer, text[cut:]) for cut in range(0, len(text), 53)]
    assert all(set(result) == set(SETTINGS_KEYS) for result in results)


def test_unknown_slicer_name_without_a_configuration_block_gives_nothing() -> None:
    assert parse_slicer_settings("KISSlicer", gcode_text("macro_test_no_slicer.gcode")) == (
        NO_SETTINGS
    )


def test_superslicer_percentage_speed_is_relative_to_default_speed() -> None:
    text = "; default_speed = 120\n; perimeter_speed = 75%\n"
    assert parse_slicer_settings("SuperSlicer", text)["print_speed"] == 90


def test_percentage_speed_without_default_speed_is_unknown() -> None:
    assert parse_slicer_settings("SuperSlicer", "; perimeter_speed = 75%\n")["print_speed"] is None


def test_prusaslicer_automatic_speed_is_unknown() -> None:
    text = "; fill_density = 15%\n; perimeter_speed = 0\n"
    assert parse_slicer_settings("PrusaSlicer", text)["print_speed"] is None


def test_orcaslicer_tree_supports_and_outer_wall_fallback() -> None:
    text = "; enable_support = 1\n; support_type = tree(auto)\n; outer_wall_speed = 200,180\n"
    settings = parse_slicer_settings("OrcaSlicer", text)
    assert (settings["support_type"], settings["print_speed"]) == ("tree(auto)", 200)


def test_support_type_is_null_when_supports_are_off() -> None:
    text = "; support_material = 0\n; support_material_style = organic\n"
    assert parse_slicer_settings("PrusaSlicer", text)["support_type"] is None


def test_windows_line_endings_are_read() -> None:
    text = "; fill_density = 15%\r\n; fill_pattern = gyroid\r\n"
    settings = parse_slicer_settings("PrusaSlicer", text)
    assert (settings["infill_percentage"], settings["infill_pattern"]) == (15, "gyroid")


def test_cura_extruder_values_override_global_ones() -> None:
    text = cura_tail(
        "speed_print = 60\ninfill_sparse_density = 10\nsupport_enable = True\n"
        "support_structure = tree",
        "speed_print = 45.5\ninfill_sparse_density = 35",
    )
    expected = {"infill_percentage": 35, "infill_pattern": None, "support_enabled": True,
                "support_type": "tree", "print_speed": 46}  # fmt: skip
    assert parse_slicer_settings("Cura", text) == expected


def test_cura_formula_values_are_unknown() -> None:
    text = cura_tail("speed_print = =speed_infill * 0.5", "infill_sparse_density = 20")
    assert parse_slicer_settings("Cura", text)["print_speed"] is None


def test_cura_payload_escaped_once_is_read_too() -> None:
    document = {"global_quality": "[values]\ninfill_pattern = lines\n", "extruder_quality": []}
    text = ";SETTING_3 " + json.dumps(document) + "\n"
    assert parse_slicer_settings("Cura", text)["infill_pattern"] == "lines"


# NaN and Infinity: Python's json reads them in Moonraker's answers -----------------------

NON_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_non_finite_job_numbers_become_null(sample: Sample, value: float) -> None:
    odd = dict.fromkeys(("end_time", "print_duration", "total_duration", "filament_used"), value)
    row = parse_job(recorded_job(sample, "completed_exists") | odd)
    assert {key: row[key] for key in odd} == dict.fromkeys(odd)


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_a_non_finite_start_time_is_a_bad_response(sample: Sample, value: float) -> None:
    with pytest.raises(MoonrakerError) as caught:
        parse_job(recorded_job(sample, "completed_exists") | {"start_time": value})
    assert caught.value.code == "BAD_RESPONSE"


def test_moonraker_json_with_nan_and_infinity_parses(sample: Sample) -> None:
    text = json.dumps(recorded_job(sample, "completed_exists"))
    text = text.replace('"filament_used": ', '"filament_used": NaN, "x": ', 1)
    row = parse_job(json.loads(text) | {"print_duration": json.loads("Infinity")})
    assert (row["filament_used"], row["print_duration"]) == (None, None)


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_non_finite_metadata_numbers_give_null_details(value: float) -> None:
    keys = ("layer_height", "first_layer_height", "first_layer_extr_temp",
            "first_layer_bed_temp", "estimated_time", "filament_weight_total", "layer_count",
            "object_height")  # fmt: skip
    details = parse_details(dict.fromkeys(keys, value))
    numbers = ("layer_height", "first_layer_height", "nozzle_temp", "bed_temp",
               "estimated_time", "estimated_filament", "layer_count", "object_height")  # fmt: skip
    assert {key: details[key] for key in numbers} == dict.fromkeys(numbers)


# 0 % and 100 % infill are real settings, not missing ones ---------------------------------


@pytest.mark.parametrize(
    ("slicer", "line"),
    [
        ("PrusaSlicer", "; fill_density = {}%\n"),
        ("SuperSlicer", "; fill_density = {}%\n"),
        ("OrcaSlicer", "; sparse_infill_density = {}%\n"),
    ],
)
@pytest.mark.parametrize("percent", [0, 100])
def test_infill_of_0_and_100_percent_is_kept(slicer: str, line: str, percent: int) -> None:
    settings = parse_slicer_settings(slicer, line.format(percent))
    assert settings["infill_percentage"] == percent


@pytest.mark.parametrize("percent", [0, 100])
def test_cura_infill_of_0_and_100_percent_is_kept(percent: int) -> None:
    text = cura_tail(f"infill_sparse_density = {percent}", "speed_print = 50")
    assert parse_slicer_settings("Cura", text)["infill_percentage"] == percent


@pytest.mark.parametrize("text", ["; fill_density = 100.4%\n", "; fill_density = -0.6%\n"])
def test_infill_just_outside_0_to_100_is_unknown(text: str) -> None:
    assert parse_slicer_settings("PrusaSlicer", text)["infill_percentage"] is None
