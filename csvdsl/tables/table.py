"""A named, typed table, and the names tables get from their files."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: The type names a column can have, as shown in schemas.
TYPE_NAMES = ("int", "float", "string", "bool", "date", "datetime")

#: Field values (after trimming whitespace) read as missing: the spellings pandas treats as NA.
NA_VALUES = frozenset(
    {
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
        "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    }
)  # fmt: skip



@dataclass(frozen=True, eq=False)
class Table:
    """A named, typed table: the frame plus its schema and how it was read. A frame read from a
    CSV views Arrow's buffers, read-only: copy it (``frame.copy()``) before changing it in place."""

    name: str
    path: str | None
    frame: pd.DataFrame = field(repr=False)
    schema: dict[str, str]
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self.schema)




def table_name_from_path(path: str | os.PathLike) -> str:
    """A valid table name from a file's stem: ``my-data.csv`` -> ``my_data``, ``2019.csv`` -> ``_2019``."""
    stem = Path(os.fspath(path)).stem
    # Transliterate accents (café -> cafe) rather than replacing every letter with '_'.
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", ascii_stem).strip("_")
    if not cleaned:
        return "table"
    if cleaned[0].isdigit():
        cleaned = "_" + cleaned
    return cleaned

