"""Moonraker's jobs, file metadata and gcode comments turned into our rows.

Pure functions without I/O. Moonraker's own shapes are described in
tests/fixtures/moonraker (recorded answers) and tests/fixtures/gcode (slicer
configuration blocks as each slicer writes them).

The keys of the rows are the attribute names of the models (db/models.py), which this
layer does not import; tests/moonraker/test_parse.py holds them to the columns that
services.jobs derives from the models, so a column the parser forgets fails there
instead of being stored as null.
"""

import configparser
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gql_server.moonraker.errors import MoonrakerError

SETTINGS_KEYS = (
    "infill_percentage",
    "infill_pattern",
    "support_enabled",
    "support_type",
    "print_speed",
)
# filament_type is indexed and filtered on; brand and colour share the cap so a
# twelve-spool multi-material job cannot overflow their columns either.
MAX_JOINED_CHARS = 100
# What Moonraker writes when it could not identify the slicer: not a slicer name.
SLICER_PLACEHOLDERS = frozenset({"Unknown", "?"})


def parse_job(raw: dict[str, Any]) -> dict[str, Any]:
    """One Moonraker job as a print_jobs row (without printer_id).

    Raises BAD_RESPONSE when a field we key or sort on is missing; the other
    fields are nullable and become None when Moonraker gives something odd.
    """
    metadata = raw.get("metadata")
    auxiliary = raw.get("auxiliary_data")
    return {
        "job_id": _required_str(raw, "job_id").upper(),
        "user": _text(raw.get("user")),
        "filename": _required_str(raw, "filename"),
        "status": _required_str(raw, "status"),
        "start_time": _required_time(raw, "start_time"),
        "end_time": _utc(raw.get("end_time")),
        "print_duration": _float(raw.get("print_duration")),
        "total_duration": _float(raw.get("total_duration")),
        "filament_used": _float(raw.get("filament_used")),
        "job_metadata": metadata if isinstance(metadata, dict) else {},
        "auxiliary_data": auxiliary if isinstance(auxiliary, list) else None,
    }


def parse_details(metadata: dict[str, Any]) -> dict[str, Any]:
    """Moonraker's file metadata as a job_details row; None where unknown.

    Infill, supports and speed are not in the metadata (see
    parse_slicer_settings), so they are None here.
    """
    return {
        "layer_height": _float(metadata.get("layer_height")),
        "first_layer_height": _float(metadata.get("first_layer_height")),
        "nozzle_temp": _rounded(metadata.get("first_layer_extr_temp")),
        "bed_temp": _rounded(metadata.get("first_layer_bed_temp")),
        "print_speed": None,
        "infill_percentage": None,
        "infill_pattern": None,
        "support_enabled": None,
        "support_type": None,
        "filament_type": _joined(metadata.get("filament_type")),
        "filament_brand": _joined(metadata.get("filament_name")),
        "filament_color": _joined(metadata.get("filament_colors")),
        "estimated_time": _rounded(metadata.get("estimated_time")),
        "estimated_filament": _float(metadata.get("filament_weight_total")),
        "layer_count": _rounded(metadata.get("layer_count")),
        "object_height": _float(metadata.get("object_height")),
        "raw_metadata": metadata,
        "slicer": _slicer_text(metadata.get("slicer")),
        "slicer_version": _slicer_text(metadata.get("slicer_version")),
    }


def parse_totals(reported: dict[str, Any]) -> dict[str, Any]:
    """Moonraker's ``job_totals`` (/server/history/totals) as the totals row's
    ``moonraker_*`` columns. A job's NaN (which Moonraker's JSON carries) makes its sums
    NaN too, and MariaDB refuses NaN and Infinity in a DOUBLE where SQLite stores NULL:
    anything but a finite number is None. ``total_jobs`` comes as a float (197.0)."""
    return {
        "moonraker_total_jobs": _rounded(reported.get("total_jobs")),
        "moonraker_total_time": _float(reported.get("total_time")),
        "moonraker_total_print_time": _float(reported.get("total_print_time")),
        "moonraker_total_filament_used": _float(reported.get("total_filament_used")),
        "moonraker_longest_job": _float(reported.get("longest_job")),
    }


def parse_slicer_settings(slicer: str | None, gcode_tail: str) -> dict[str, Any]:
    """Infill, supports and speed from the configuration comments that
    PrusaSlicer, SuperSlicer, OrcaSlicer and Cura write at the end of a file.

    `print_speed` is the (inner) perimeter speed: PrusaSlicer/SuperSlicer
    `perimeter_speed`, OrcaSlicer `inner_wall_speed` (else `outer_wall_speed`),
    Cura `speed_print` (the base its wall speeds derive from). Perimeters set
    the pace of most prints and every slicer writes this speed in mm/s, while
    external perimeter speeds are often a percentage of it. `support_type` is
    None when supports are off: the style left in the profile was not printed.
    """
    keys = _SLICER_KEYS.get((slicer or "").strip().lower()) or _sniff(gcode_tail)
    if keys is None:
        return dict.fromkeys(SETTINGS_KEYS)
    config = _cura_config(gcode_tail) if keys is CURA else _comment_config(gcode_tail)
    return _settings(config, keys)


@dataclass(frozen=True, slots=True)
class _SettingKeys:
    """Where one slicer family keeps each setting."""

    infill: str
    pattern: str
    support: str
    support_type: str
    speeds: tuple[str, ...]


PRUSA = _SettingKeys(
    "fill_density", "fill_pattern", "support_material", "support_material_style",
    ("perimeter_speed",),
)  # fmt: skip
ORCA = _SettingKeys(
    "sparse_infill_density", "sparse_infill_pattern", "enable_support", "support_type",
    ("inner_wall_speed", "outer_wall_speed"),
)  # fmt: skip
CURA = _SettingKeys(
    "infill_sparse_density", "infill_pattern", "support_enable", "support_structure",
    ("speed_print",),
)  # fmt: skip
_SLICER_KEYS = {"prusaslicer": PRUSA, "superslicer": PRUSA, "orcaslicer": ORCA, "cura": CURA}

_CONFIG_LINE = re.compile(r"^; ([A-Za-z0-9_]+) = (.*?)[ \t\r]*$", re.MULTILINE)
_CURA_PREFIX = ";SETTING_3 "
# Cura escapes backslash, LF and CR before cutting its JSON into comment lines.
_CURA_ESCAPE = re.compile(r"\\\\|\\n|\\r")
_CURA_UNESCAPED = {"\\\\": "\\", "\\n": "\n", "\\r": "\r"}


def _sniff(text: str) -> _SettingKeys | None:
    if _CURA_PREFIX in text:
        return CURA
    if re.search(r"^; sparse_infill_density = ", text, re.MULTILINE):
        return ORCA
    if re.search(r"^; fill_density = ", text, re.MULTILINE):
        return PRUSA
    return None


def _settings(config: dict[str, str], keys: _SettingKeys) -> dict[str, Any]:
    enabled = _flag(config.get(keys.support))
    speeds = (_speed(config.get(key), config.get("default_speed")) for key in keys.speeds)
    return {
        "infill_percentage": _percent(config.get(keys.infill)),
        "infill_pattern": _first_item(config.get(keys.pattern)),
        "support_enabled": enabled,
        "support_type": _first_item(config.get(keys.support_type)) if enabled else None,
        "print_speed": next((speed for speed in speeds if speed is not None), None),
    }


def _comment_config(text: str) -> dict[str, str]:
    """`; key = value` lines (PrusaSlicer, SuperSlicer, OrcaSlicer); the last
    occurrence wins because the configuration block closes the file."""
    return dict(_CONFIG_LINE.findall(text))


def _cura_config(text: str) -> dict[str, str]:
    """The `[values]` of Cura's profile; the first extruder's override the global ones."""
    lines = (line.removesuffix("\r") for line in text.split("\n"))
    payload = "".join(line[len(_CURA_PREFIX) :] for line in lines if line.startswith(_CURA_PREFIX))
    document = _cura_document(payload)
    if document is None:
        return {}
    values = _ini_values(document.get("global_quality"))
    extruders = document.get("extruder_quality")
    for extruder in reversed(extruders if isinstance(extruders, list) else []):
        values.update(_ini_values(extruder))
    return values


def _cura_document(payload: str) -> dict[str, Any] | None:
    unescaped = _CURA_ESCAPE.sub(lambda match: _CURA_UNESCAPED[match.group()], payload)
    # strict=False: a payload escaped only once still loads, its newlines raw.
    for candidate in (unescaped, payload):
        try:
            document = json.loads(candidate, strict=False)
        except (ValueError, RecursionError):
            continue
        if isinstance(document, dict):
            return document
    return None


def _ini_values(text: Any) -> dict[str, str]:
    if not isinstance(text, str):
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    return dict(parser["values"]) if parser.has_section("values") else {}


def _first_item(raw: str | None) -> str | None:
    """The first of a `,`/`;` list (one value per extruder), unquoted; None if empty."""
    if raw is None:
        return None
    item = re.split(r"[,;]", raw, maxsplit=1)[0].strip().strip('"').strip()
    return item or None


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _percent(raw: str | None) -> int | None:
    value = _number((_first_item(raw) or "").removesuffix("%"))
    return round(value) if value is not None and 0 <= value <= 100 else None


def _flag(raw: str | None) -> bool | None:
    return {"1": True, "true": True, "0": False, "false": False}.get(
        (_first_item(raw) or "").lower()
    )


def _speed(raw: str | None, default_speed: str | None) -> int | None:
    """mm/s; SuperSlicer may give a percentage of `default_speed`. 0 means
    "automatic" in PrusaSlicer, which is no speed we can report."""
    item = _first_item(raw) or ""
    value = _number(item.removesuffix("%"))
    if value is not None and item.endswith("%"):
        base = _number(_first_item(default_speed))
        value = None if base is None else base * value / 100
    return round(value) if value is not None and value > 0 else None


def _required_str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise MoonrakerError("BAD_RESPONSE", f"a Moonraker job has no valid {key}")
    return value


def _required_time(raw: dict[str, Any], key: str) -> datetime:
    value = _utc(raw.get(key))
    if value is None:
        raise MoonrakerError("BAD_RESPONSE", f"a Moonraker job has no valid {key}")
    return value


def _utc(value: Any) -> datetime | None:
    """Naive UTC, as the database stores it; None for anything not a sane timestamp."""
    seconds = _float(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _rounded(value: Any) -> int | None:
    number = _float(value)
    return round(number) if number is not None else None


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _slicer_text(value: Any) -> str | None:
    text = _text(value)
    return None if text in SLICER_PLACEHOLDERS else text


def _joined(value: Any) -> str | None:
    """Distinct values joined by ';', whole values only, within MAX_JOINED_CHARS.

    PrusaSlicer writes one value per extruder: `PLA;PETG`, a JSON list inside a
    string (`["PLA","PETG"]`) or quoted names (`"A";"B"`, which Moonraker
    unquotes into `A";"B`).
    """
    values = _distinct(value)
    joined = ""
    for item in values:
        candidate = f"{joined};{item}" if joined else item
        if len(candidate) > MAX_JOINED_CHARS:
            break
        joined = candidate
    return joined or (values[0][:MAX_JOINED_CHARS] if values else None)


def _distinct(value: Any) -> list[str]:
    items = value if isinstance(value, list) else _split_list(value)
    cleaned = (item.strip().strip('"').strip() for item in items if isinstance(item, str))
    return [item for item in dict.fromkeys(cleaned) if item]


def _split_list(value: Any) -> list[Any]:
    if not isinstance(value, str):
        return []
    if value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, list):
            return parsed
    return value.split(";")
