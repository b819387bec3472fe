"""Slicer settings (infill, supports, speed) read from the tail of a job's gcode file.

They live only in the file's closing comments, so reading them costs a download; one
read per file version serves every job that printed it: for one sync (the importer),
or for as long as a printer's live connection writes its jobs.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from gql_server.moonraker.client import MoonrakerClient
from gql_server.moonraker.parse import parse_slicer_settings

DEFAULT_TAIL_BYTES = 64 * 1024
# File versions a live connection remembers: a farm prints a few files over and over.
LIVE_VERSIONS = 256

FileVersion = tuple[str, Any, Any]


@dataclass
class SlicerSettingsReader:
    enabled: bool = True
    max_tail_bytes: int = 512 * 1024
    max_versions: int | None = None  # None: all of them (one sync's)
    _cache: OrderedDict[FileVersion, dict[str, Any]] = field(default_factory=OrderedDict)

    async def read(
        self, client: MoonrakerClient, raw: dict[str, Any], row: dict[str, Any], slicer: str | None
    ) -> dict[str, Any]:
        """Read the tail while the file still exists unchanged (Moonraker's ``exists``);
        the file version is its name, modification time and size from the metadata."""
        if not self.enabled or not raw.get("exists") or slicer is None:
            return {}
        metadata = row["job_metadata"]
        version = (row["filename"], metadata.get("modified"), metadata.get("size"))
        cached = self._cache.get(version)
        if cached is not None:
            self._cache.move_to_end(version)
            return cached
        tail = await client.gcode_tail(row["filename"], self._tail_bytes(metadata))
        settings = {} if tail is None else parse_slicer_settings(slicer, tail)
        self._cache[version] = settings
        if self.max_versions is not None and len(self._cache) > self.max_versions:
            self._cache.popitem(last=False)
        return settings

    def _tail_bytes(self, metadata: dict[str, Any]) -> int:
        """Everything after the last move (the slicer's config block), plus a margin: the
        metadata's sizes may predate a later edit of the file."""
        size, end = metadata.get("size"), metadata.get("gcode_end_byte")
        config_block = size - end if isinstance(size, int) and isinstance(end, int) else 0
        return min(max(config_block, 0) + DEFAULT_TAIL_BYTES, self.max_tail_bytes)
