"""Load CSV files (or in-memory frames) into typed tables and keep them in a catalog.

Every problem with an input file is reported as a :class:`~csvdsl.errors.DataError` with a code, the
file, the 1-based CSV line where one applies, and a hint -- never as a traceback.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from csvdsl.errors import DataError, Span, did_you_mean
from csvdsl.grammar import IDENTIFIER as _IDENTIFIER

__all__ = ["TYPE_NAMES", "NA_VALUES", "Table", "Catalog", "read_table", "table_from_frame", "table_name_from_path"]

#: The type names a column can have, as shown in schemas.
TYPE_NAMES = ("int", "float", "string", "bool", "date", "datetime")

#: Field values (after trimming whitespace) read as missing: the spellings pandas treats as NA.
NA_VALUES = frozenset(
    {
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
        "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    }
)  # fmt: skip

DELIMITERS = (",", ";", "\t", "|")

# Parsed datetimes get one resolution so columns from different files compare and concatenate
# alike; microseconds (not nanoseconds) so sentinel dates such as 9999-12-31 still fit.
_TIME_UNIT = "datetime64[us]"
_SNIFF_CHARS = 64 * 1024
_SNIFF_LINES = 50

# Patterns are matched against trimmed, non-missing values.
_INT_RE = r"^[+-]?\d+$"
_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?([iI][nN][fF]|[iI][nN][fF][iI][nN][iI][tT][yY])$"
# A numeric-looking value with a leading zero (zip codes, ids) would lose the zero as a number.
_LEADING_ZERO_RE = r"^[+-]?0\d"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_SAMPLE = 256


@dataclass(frozen=True, eq=False)
class Table:
    """A named, typed table: the frame plus its schema and how it was read."""

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


# --------------------------------------------------------------------------- reading CSV files


def read_table(path: str | os.PathLike, name: str | None = None) -> Table:
    """Read one CSV file into a typed :class:`Table` named ``name`` (default: the file stem)."""
    shown = os.fspath(path)
    raw = _read_bytes(shown)
    text, encoding = _decode(raw, shown)
    if not text or text.isspace():
        raise DataError(
            "csv-empty",
            f"{shown} is empty",
            span=Span(1, 1),
            hint="a CSV file needs at least a header line naming its columns",
            file=shown,
        )
    _reject_binary(text, shown)
    delimiter = _sniff_delimiter(text)
    # Arrow reads UTF-8 only; a UTF-8 file is handed over as it is, without re-encoding.
    data = raw[3:] if encoding == "utf-8-sig" else raw if encoding == "utf-8" else text.encode("utf-8")
    columns = _parse_strings(data, text, delimiter, shown)
    header = _header_names([col[0].as_py() for col in columns], text, delimiter, shown)
    # Arrow's kernels release the GIL, so columns convert in parallel.
    with ThreadPoolExecutor(max_workers=min(len(columns), os.cpu_count() or 1, 8)) as pool:
        converted = list(pool.map(lambda col: _convert_column(col.slice(1)), columns))
    schema = {column_name: kind for column_name, (kind, _) in zip(header, converted)}
    frame = pd.DataFrame({column_name: series for column_name, (_, series) in zip(header, converted)}, copy=False)
    return Table(
        name=name if name is not None else table_name_from_path(shown),
        path=shown,
        frame=frame,
        schema=schema,
        encoding=encoding,
        delimiter=delimiter,
    )


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


def _read_bytes(shown: str) -> bytes:
    p = Path(shown)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise DataError(
            "csv-not-found",
            f"CSV file {shown} does not exist",
            hint=_missing_file_hint(p),
            file=shown,
        ) from None
    except IsADirectoryError:
        raise DataError(
            "csv-not-a-file",
            f"{shown} is a directory, not a CSV file",
            hint="pass the path of a .csv file inside it",
            file=shown,
        ) from None
    except PermissionError:
        raise DataError(
            "csv-unreadable",
            f"no permission to read {shown}",
            hint="check the file's permissions",
            file=shown,
        ) from None
    except OSError as exc:
        raise DataError(
            "csv-unreadable",
            f"cannot read {shown}: {exc.strerror or exc}",
            hint="check that the path names a readable file",
            file=shown,
        ) from None


def _missing_file_hint(p: Path) -> str:
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        return f"the folder {folder} does not exist either; check the path"
    try:
        siblings = sorted(f for f in folder.iterdir() if f.suffix.lower() in {".csv", ".tsv", ".txt"})
    except OSError:
        siblings = []
    # Compare stems: every candidate shares the ".csv", which would make anything look close.
    by_stem = {f.stem: f for f in siblings}
    best = did_you_mean(p.stem, by_stem)
    if best is not None:
        return f"did you mean {folder / by_stem[best].name}?"
    return "check the path; it is relative to the current directory unless absolute"


def _decode(raw: bytes, shown: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A UTF-16 BOM is unambiguous; without one the NUL bytes are reported as binary below.
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise DataError(
                "csv-encoding",
                f"{shown} starts with a UTF-16 byte order mark but is not valid UTF-16",
                hint="save the file as UTF-8",
                file=shown,
            ) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    # Not UTF-8: most such files come from Windows tools; latin-1 accepts any byte, so it is last.
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _reject_binary(text: str, shown: str) -> None:
    sample = text[:8192]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f\v")
    if "\x00" not in text and controls <= len(sample) // 20:
        return
    if text.startswith("\x1f\x8b") or text.startswith("\x1f\u2039"):
        hint = "it looks gzip-compressed; decompress it first"
    elif text.startswith("PK\x03\x04"):
        hint = "it looks like a zip archive (or an Excel .xlsx file); export it as CSV"
    else:
        hint = (
            "the file contains binary data (NUL or control bytes); pass a text CSV file"
            " (UTF-16 needs a byte order mark)"
        )
    raise DataError("csv-binary", f"{shown} is not a text CSV file", span=Span(1, 1), hint=hint, file=shown)


# --------------------------------------------------------------------------- delimiter sniffing


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        # Drop the cut-off last line so it does not look ragged.
        sample = sample[: sample.rindex("\n") + 1]
    lines = sample.splitlines(keepends=True)[:_SNIFF_LINES]
    sample = "".join(lines)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in DELIMITERS:
        agree, width = _consistency(sample, sniffed)
        if agree == 1.0 and width > 1:
            return sniffed
    # The sniffer guessed nothing or something that does not split the sample evenly: take the
    # delimiter whose rows most often have as many fields as the header (ties: more fields).
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        score = _consistency(sample, delimiter)
        if score[1] > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _consistency(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of sample rows with as many fields as the header, header width)."""
    try:
        rows = [row for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if row]
    except csv.Error:
        return 0.0, 0
    if not rows:
        return 0.0, 0
    width = len(rows[0])
    if len(rows) == 1:
        return 1.0, width
    body = rows[1:]
    return sum(len(row) == width for row in body) / len(body), width


# --------------------------------------------------------------------------- parsing


def _parse_strings(data: bytes, text: str, delimiter: str, shown: str) -> list[pa.ChunkedArray]:
    """Every field as a string, header row included, one array per column (arrow's CSV reader is
    multithreaded and, unlike pandas, rejects short rows as well as long ones)."""
    width = _header_width(text, delimiter)
    if not data.endswith((b"\n", b"\r")):
        # Arrow cannot read a first row that has no line end ("Empty CSV file or block").
        data += b"\n"
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                # Types are inferred afterwards; here every field must stay the text it was.
                column_types={f"f{i}": pa.string() for i in range(width)},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                auto_dict_encode=False,
            ),
        )
    except pa.ArrowException as exc:
        _diagnose(text, delimiter, shown)
        raise DataError(
            "csv-malformed",
            f"{shown} is not a well-formed CSV file: {exc}",
            hint="check the quoting and that every row has as many fields as the header",
            file=shown,
        ) from None
    if data.count(b'"') % 2:
        # Arrow silently ends a quoted field left open at the end of the file; an odd number of
        # quotes is the cheap sign of that (or of a harmless stray quote, which passes).
        _diagnose(text, delimiter, shown)
    if table.num_columns != width:
        _diagnose(text, delimiter, shown)
        raise DataError(
            "csv-malformed",
            f"{shown} is not a well-formed CSV file: its header could not be read",
            span=Span(1, 1),
            hint="check the quoting of the header line",
            file=shown,
        )
    return list(table.columns)


def _header_width(text: str, delimiter: str) -> int:
    # The header is near the start; a prefix spares copying a large file into a StringIO.
    reader = csv.reader(io.StringIO(text[:1 << 20], newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if row:
                return len(row)
    except csv.Error:
        pass
    return 1


def _diagnose(text: str, delimiter: str, shown: str, strict: bool = True) -> None:
    """Raise for the first bad record, found with the csv module, which knows the line each record
    starts on; return if it finds none."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    width = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise DataError(
                    "csv-unterminated-quote",
                    f"a quoted field in {shown} starting on line {start} is never closed",
                    span=Span(start, 1),
                    hint='add the closing double quote; a quote inside a quoted field is written ""',
                    file=shown,
                    source=_source_line(text, start),
                ) from None
            if strict:
                # A stray quote inside a field, which arrow reads leniently: look again leniently
                # for the problem arrow did report.
                return _diagnose(text, delimiter, shown, strict=False)
            return
        if not row:
            continue
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise _ragged(text, delimiter, shown, start, len(row), width)


def _ragged(text: str, delimiter: str, shown: str, line: int, got: int, want: int) -> DataError:
    source = _source_line(text, line)
    physical = source.rsplit("\n", 1)[-1]
    starts = _field_starts(physical, delimiter)
    if got > want:
        column = starts[want] if want < len(starts) else 1
        fields = "fields" if got - want > 1 else "field"
        hint = f"remove the extra {fields}, or quote fields that contain {_show_delimiter(delimiter)}"
        if physical.rstrip("\r\n").endswith(delimiter):
            hint += " (the row ends with a delimiter)"
    else:
        column = len(physical.rstrip("\r\n")) + 1
        hint = "add the missing fields (an empty field is written as nothing between two delimiters)"
        if not physical.strip():
            hint = "the line holds only whitespace; delete it"
    return DataError(
        "csv-ragged",
        f"line {line} of {shown} has {got} field{'s' if got != 1 else ''}, but the header has {want}",
        span=Span(line, column),
        hint=hint,
        file=shown,
        source=source,
    )


def _source_line(text: str, line: int) -> str:
    # DslError.caret() shows line N of ``source``; padding with empty lines shows the CSV line
    # without keeping a copy of a possibly huge file in the exception.
    lines = io.StringIO(text, newline="")
    for number, physical in enumerate(lines, start=1):
        if number == line:
            return "\n" * (line - 1) + physical.rstrip("\r\n")
    return ""


def _field_starts(line: str, delimiter: str) -> list[int]:
    """1-based columns where each field of one physical line starts (quote-aware)."""
    starts, quoted = [1], False
    for index, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            starts.append(index + 2)
    return starts


def _show_delimiter(delimiter: str) -> str:
    return {"\t": "a tab", ",": "a comma", ";": "a semicolon", "|": "a pipe"}.get(delimiter, repr(delimiter))


def _header_names(raw: list[str], text: str, delimiter: str, shown: str) -> list[str]:
    names = []
    for position, value in enumerate(raw, start=1):
        value = value.strip()
        names.append(value if value else f"column_{position}")
    seen: dict[str, int] = {}
    for position, value in enumerate(names):
        if value in seen:
            # Blank lines before the header are skipped when reading, but they still count here.
            line = text[: len(text) - len(text.lstrip("\r\n"))].count("\n") + 1
            header = _source_line(text, line)
            starts = _field_starts(header.rsplit("\n", 1)[-1], delimiter)
            column = starts[position] if position < len(starts) else 1
            raise DataError(
                "csv-duplicate-column",
                f"column `{value}` appears twice in the header of {shown}"
                f" (fields {seen[value] + 1} and {position + 1})",
                span=Span(line, column),
                hint="rename one of them so every column name is unique",
                file=shown,
                source=header,
            )
        seen[value] = position
    return names


# --------------------------------------------------------------------------- type inference


def _convert_column(col: pa.ChunkedArray) -> tuple[str, pd.Series]:
    """The type name of one column of strings and the column converted to its storage dtype."""
    trimmed = pc.utf8_trim_whitespace(col)
    missing = pc.is_in(trimmed, value_set=_NA_ARRAY)
    has_missing = bool(pc.any(missing).as_py())
    present = pc.filter(trimmed, pc.invert(missing)) if has_missing else trimmed
    values = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed) if has_missing else trimmed
    if len(present):
        sample = present.slice(0, _SAMPLE)
        # Regexes on a small sample rule most types out cheaply; the full column is only parsed
        # for the types its sample fits, and the parse itself is the check.
        for kind, pattern in _KIND_PATTERNS:
            if not _all_match(sample, pattern):
                continue
            converted = _CONVERTERS[kind](values, present, has_missing)
            if converted is _STRING:
                break
            if converted is not None:
                return kind, converted
    # Strings keep their original spacing; only the missing ones change.
    original = pc.if_else(missing, pa.scalar(None, pa.string()), col) if has_missing else col
    return "string", pd.Series(pd.array(original, dtype="str"))


def _all_match(values: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


def _has_leading_zero(present: pa.ChunkedArray) -> bool:
    # A prefix test first: the regex then only runs on the few values starting with a zero.
    zeroish = pc.or_(pc.starts_with(present, "0"), pc.or_(pc.starts_with(present, "-0"), pc.starts_with(present, "+0")))
    if not pc.any(zeroish).as_py():
        return False
    return bool(pc.any(pc.match_substring_regex(pc.filter(present, zeroish), _LEADING_ZERO_RE)).as_py())


def _to_bool(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    if not pc.all(pc.is_in(pc.utf8_lower(present), value_set=_BOOL_ARRAY)).as_py():
        return None
    flags = pc.equal(pc.utf8_lower(values), "true")
    if has_missing:
        return pd.Series(pd.array(flags, dtype="boolean"))
    return pd.Series(flags.to_numpy(), dtype=bool)


def _to_int(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    try:
        ints = pc.cast(values, pa.int64())
    except pa.ArrowInvalid:
        # Arrow rejects a leading '+'.
        try:
            ints = pc.cast(pc.replace_substring_regex(values, r"^\+", ""), pa.int64())
        except pa.ArrowInvalid:
            # Integers out of int64 range (long ids) stay text rather than being rounded as floats.
            return _STRING if _all_match(present, _INT_RE) else None
    if _has_leading_zero(present):
        return None
    if has_missing:
        # Nulls need float storage, which holds integers exactly only up to 2**53.
        if pc.max(pc.abs(ints)).as_py() > 2**53:
            return _STRING
        return pd.Series(pc.cast(ints, pa.float64()).to_numpy(), dtype="float64")
    return pd.Series(ints.to_numpy(), dtype="int64")


def _to_float(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    try:
        floats = pc.cast(values, pa.float64())
    except pa.ArrowInvalid:
        return None
    if _has_leading_zero(present):
        return None
    return pd.Series(floats.to_numpy(), dtype="float64")


def _to_date(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    if not _all_match(present, _DATE_RE):
        return None
    return _parse_times(values, "%Y-%m-%d", utc=False)


def _to_datetime(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    if not _all_match(present, _DATETIME_RE):
        return None
    return _parse_times(values, "ISO8601", utc=True)


def _parse_times(values: pa.ChunkedArray, fmt: str, utc: bool) -> pd.Series | None:
    """Naive UTC datetime64, or None if some value is not a real time (such as 2013-02-30)."""
    # Arrow's ISO-8601 cast is ~10x faster than pandas; it needs all-zoned or all-naive values.
    for target in (pa.timestamp("us", tz="UTC"), pa.timestamp("us")):
        try:
            stamps = pc.cast(values, target)
        except pa.ArrowException:  # mixed zones or an unreadable value: the pandas path below decides
            continue
        return pd.Series(pc.cast(stamps, pa.timestamp("us")).to_numpy(), dtype=_TIME_UNIT)
    strings = pd.Series(pd.array(values, dtype="str"))
    # utc=True converts each offset to UTC (values without one are taken as UTC already).
    parsed = pd.to_datetime(strings, format=fmt, utc=utc, errors="coerce")
    if parsed.isna().sum() != strings.isna().sum():
        return None
    if utc:
        parsed = parsed.dt.tz_localize(None)
    return parsed.astype(_TIME_UNIT)


_STRING = object()  # a converter's "this is text; try no other type"
_NA_ARRAY = pa.array(sorted(NA_VALUES), pa.string())
_BOOL_ARRAY = pa.array(["true", "false"], pa.string())
# In the order tried: the first type a column fits is its type.
_KIND_PATTERNS = (
    ("bool", r"(?i)^(true|false)$"),
    ("int", _INT_RE),
    ("float", _FLOAT_RE),
    ("date", _DATE_RE),
    ("datetime", _DATETIME_RE),
)
_CONVERTERS = {"bool": _to_bool, "int": _to_int, "float": _to_float, "date": _to_date, "datetime": _to_datetime}


# --------------------------------------------------------------------------- in-memory frames


def table_from_frame(name: str, frame: pd.DataFrame) -> Table:
    """Wrap an in-memory DataFrame as a :class:`Table`, converting columns to the same storage
    ``read_table`` produces (the index is dropped)."""
    labels = [str(label) for label in frame.columns]
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise DataError(
                "frame-duplicate-column",
                f"column `{label}` appears twice in the frame for table `{name}`",
                hint="rename one of them so every column name is unique",
            )
        seen.add(label)
    data, schema = {}, {}
    for label, position in zip(labels, range(frame.shape[1])):
        series = frame.iloc[:, position].reset_index(drop=True)
        kind, converted = _convert_series(series, label, name)
        data[label] = converted.rename(label)
        schema[label] = kind
    return Table(name=name, path=None, frame=pd.DataFrame(data, index=pd.RangeIndex(len(frame))), schema=schema)


def _convert_series(s: pd.Series, label: str, table: str) -> tuple[str, pd.Series]:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _convert_series(s.astype(dtype.categories.dtype), label, table)
    if pd.api.types.is_bool_dtype(dtype):
        if s.isna().any():
            return "bool", s.astype("boolean")
        return "bool", s.astype(bool)
    if pd.api.types.is_integer_dtype(dtype):
        if s.isna().any():
            return "int", s.astype("float64")
        if str(dtype).lower() == "uint64" and len(s) and s.max() > np.iinfo(np.int64).max:
            return "float", s.astype("float64")
        return "int", s.astype("int64")
    if pd.api.types.is_float_dtype(dtype):
        return "float", s.astype("float64")
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _time_kind(s.dt.tz_convert("UTC").dt.tz_localize(None))
    if pd.api.types.is_datetime64_dtype(dtype):
        return _time_kind(s)
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "string", s.astype("str")
    if pd.api.types.is_object_dtype(dtype):
        return _convert_objects(s, label, table)
    raise DataError(
        "frame-column-type",
        f"column `{label}` of table `{table}` has type {dtype}, which tables cannot hold",
        hint="convert it to numbers, text, booleans or datetimes first",
    )


def _convert_objects(s: pd.Series, label: str, table: str) -> tuple[str, pd.Series]:
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    if inferred in ("string", "empty"):
        return "string", s.astype("str")
    if inferred == "boolean":
        return _convert_series(s.astype("boolean"), label, table)
    if inferred == "integer":
        try:
            return _convert_series(s.astype("Int64"), label, table)
        except (OverflowError, TypeError, ValueError):
            return "float", s.astype("float64")
    if inferred in ("floating", "mixed-integer-float", "decimal"):
        return "float", s.astype("float64")
    if inferred in ("datetime", "datetime64", "date"):
        try:
            return _convert_series(pd.to_datetime(s, utc=_has_tz(s)), label, table)
        except (ValueError, TypeError, OverflowError):
            pass
    # Mixed Python objects: their text is the most faithful thing a CSV-like table can hold.
    return "string", s.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)).astype("str")


def _has_tz(s: pd.Series) -> bool:
    return any(isinstance(v, _dt.datetime) and v.tzinfo is not None for v in s.dropna())


def _time_kind(s: pd.Series) -> tuple[str, pd.Series]:
    present = s.dropna()
    midnight = bool((present == present.dt.normalize()).all())
    return ("date" if midnight and len(present) else "datetime"), s


# --------------------------------------------------------------------------- the catalog


class Catalog:
    """The tables a program can name, in the order they were added."""

    def __init__(self, tables: Iterable[Table] = ()):
        self._tables: dict[str, Table] = {}
        for table in tables:
            self.add(table)

    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> "Catalog":
        """Read tables from command-line specs, each ``PATH`` or ``NAME=PATH``."""
        catalog = cls()
        if isinstance(specs, str):
            specs = [specs]
        for spec in specs:
            name, path = _split_spec(spec)
            if name in catalog:
                raise DataError(
                    "table-duplicate",
                    f"two CSV files would both be table `{name}` ({catalog[name].path} and {path})",
                    hint=f"name one explicitly with NAME=PATH, e.g. --csv {name}2={path}",
                    file=path,
                )
            catalog.add(read_table(path, name=name))
        return catalog

    def add(self, table: Table) -> None:
        """Add a table; its name must be an identifier not already in the catalog."""
        _check_name(table.name)
        if table.name in self._tables:
            raise DataError(
                "table-duplicate",
                f"there is already a table named `{table.name}`",
                hint="give each table a different name (NAME=PATH on the command line)",
                file=table.path,
            )
        self._tables[table.name] = table

    def names(self) -> list[str]:
        """Table names, in order."""
        return list(self._tables)

    def schemas(self) -> dict[str, dict[str, str]]:
        """Each table's schema: table name -> column -> type name."""
        return {name: dict(table.schema) for name, table in self._tables.items()}

    def __getitem__(self, name: str) -> Table:
        try:
            return self._tables[name]
        except KeyError:
            raise UnknownTableError(name, self.names()) from None

    def get(self, name: str, default: Table | None = None) -> Table | None:
        return self._tables.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"Catalog({', '.join(self._tables)})"


class UnknownTableError(DataError, KeyError):
    """No table has this name; also a KeyError so mapping-style code keeps working."""

    def __init__(self, name: str, available: list[str]):
        best = did_you_mean(name, available)
        hint = f"did you mean `{best}`? " if best else ""
        hint += f"tables: {', '.join(available)}" if available else "no tables are loaded (use --csv PATH)"
        super().__init__("table-unknown", f"there is no table named `{name}`", hint=hint)


def _split_spec(spec: str) -> tuple[str, str]:
    spec = os.fspath(spec)
    if "=" in spec:
        name, path = spec.split("=", 1)
        # "a=b.csv" might also be a file name containing '='; only existing files can tell.
        if Path(spec).is_file() and not Path(path).is_file():
            return table_name_from_path(spec), spec
        _check_name(name, spec)
        if not path:
            raise DataError(
                "table-spec",
                f"`{spec}` names table `{name}` but no file",
                hint=f"write NAME=PATH, e.g. {name}=data/{name}.csv",
            )
        return name, path
    return table_name_from_path(spec), spec


def _check_name(name: str, spec: str | None = None) -> None:
    if _IDENTIFIER.match(name):
        return
    suggestion = table_name_from_path(name + ".csv") if name else "data"
    where = f" in `{spec}`" if spec is not None else ""
    raise DataError(
        "table-name",
        f"`{name}`{where} is not a valid table name" if name else f"the table name{where} is empty",
        hint=f"use letters, digits and underscores, not starting with a digit, e.g. `{suggestion}`"
        + (" (write NAME=PATH)" if spec is not None else ""),
    )
