"""Column types: CSV text columns and in-memory frames converted to the storage tables use."""

from __future__ import annotations

import datetime as _dt
import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from csvdsl.errors import DataError
from csvdsl.tables.table import NA_VALUES, Table

# Parsed datetimes get one resolution so columns from different files compare and concatenate
# alike; microseconds (not nanoseconds) so sentinel dates such as 9999-12-31 still fit.
_TIME_UNIT = "datetime64[us]"

# Patterns are matched against trimmed, non-missing values.
_INT_RE = r"^[+-]?\d+$"
_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?([iI][nN][fF]|[iI][nN][fF][iI][nN][iI][tT][yY])$"
# A numeric-looking value with a leading zero (zip codes, ids) would lose the zero as a number;
# Arrow's integer cast also reads hexadecimal (0x1F), which is text here.
_LEADING_ZERO_RE = r"^[+-]?0[\dxX]"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_SAMPLE = 256


def convert_column(col: pa.ChunkedArray) -> tuple[str, pd.Series]:
    """The type name of one column of strings and the column converted to its storage dtype."""
    if len(col) and not col.null_count:  # the reader's columns hold no nulls
        edges = _Edges(col)
        plain = _plain_numbers(col, edges) or _plain_times(col, edges)
        if plain is not None:
            return plain
    return _typed(col)


def _typed(col: pa.ChunkedArray) -> tuple[str, pd.Series]:
    """The general path: values trimmed, missing-value markers found, then the first type the
    values fit."""
    trimmed = pc.utf8_trim_whitespace(col)
    missing = pc.is_in(trimmed, value_set=_NA_ARRAY)
    has_missing = bool(pc.any(missing).as_py())
    present = pc.filter(trimmed, pc.invert(missing)) if has_missing else trimmed
    sample = present.slice(0, _SAMPLE)
    # Regexes on a small sample rule most types out cheaply (one regex for text, which fits none);
    # the full column is only parsed for the types its sample fits, and the parse is the check.
    if len(sample) and _all_match(sample, _ANY_KIND):
        values = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed) if has_missing else trimmed
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


class _Edges:
    """Each value's length in bytes and its first three bytes (0 past its end), read off the
    column's buffers when first asked for: what checks that would otherwise take a pass of Arrow
    string kernels each need. A column of text needs only the lengths."""

    def __init__(self, col: pa.ChunkedArray):
        self._chunks = [_buffers(chunk) for chunk in col.chunks if len(chunk)]

    @functools.cached_property
    def length(self) -> np.ndarray:
        return np.concatenate([offsets[1:] - offsets[:-1] for offsets, _ in self._chunks])

    @functools.cached_property
    def _bytes(self) -> list[np.ndarray]:
        length, parts = self.length, []
        for offsets, data in self._chunks:
            starts = np.minimum(offsets[:-1], len(data) - 1)  # empty values at the end start past the data
            parts.append([data[np.minimum(starts + k, len(data) - 1)] for k in range(3)])
        edges = [np.concatenate(part) for part in zip(*parts)]
        for k, byte in enumerate(edges):
            byte[length <= k] = 0
        return edges

    first = property(lambda self: self._bytes[0])
    second = property(lambda self: self._bytes[1])
    third = property(lambda self: self._bytes[2])


def _buffers(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets and data bytes, as numpy views of its buffers."""
    _, offsets_buffer, data_buffer = chunk.buffers()
    width = 8 if pa.types.is_large_string(chunk.type) else 4
    offsets = np.frombuffer(offsets_buffer, dtype=f"int{width * 8}", count=len(chunk) + 1, offset=chunk.offset * width)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None and len(data_buffer) else np.zeros(1, np.uint8)
    return offsets, data


def _plain_numbers(col: pa.ChunkedArray, edges: _Edges) -> tuple[str, pd.Series] | None:
    """Most numeric columns, typed without trimming every value and looking each up among the
    missing-value markers: numbers with no spacing, no '+' and no missing value but the empty
    field. A cast fails on spacing and on every other marker, and then (or for a column this
    cannot decide) None leaves the column to the general path, which types it the same way."""
    head = col.slice(0, _SAMPLE)
    head = pc.filter(head, pc.not_equal(head, ""))
    kinds = [(kind, target) for kind, target in (("int", pa.int64()), ("float", pa.float64())) if _casts(head, target)]
    if not kinds:  # the first values rule the column out: text, or the general path's to decide
        return None
    missing = int(np.count_nonzero(edges.length == 0))
    if missing == len(col) or (edges.first == _PLUS).any() or _leading_zero(edges).any():
        return None
    values = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col) if missing else col
    for kind, target in kinds:
        try:
            numbers = pc.cast(values, target)
        except pa.ArrowInvalid:
            continue
        if kind == "int" and not missing:
            return kind, pd.Series(numbers.to_numpy(), dtype="int64")
        low, high = pc.min_max(numbers).values()
        biggest = max(abs(low.as_py()), abs(high.as_py()))
        if kind == "int":
            # Nulls need float storage, which holds integers exactly only up to 2**53.
            return None if biggest > 2**53 else (kind, pd.Series(pc.cast(numbers, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64"))
        if pc.any(pc.is_nan(numbers)).as_py() or biggest >= 2**63:
            return None  # "nan" is a missing-value marker; an integer past int64 may be an id kept as text
        return kind, pd.Series(numbers.to_numpy(zero_copy_only=False), dtype="float64")
    return None


def _plain_times(col: pa.ChunkedArray, edges: _Edges) -> tuple[str, pd.Series] | None:
    """Dates and times all written alike (`2013-01-01`, `2013-01-01 05:00[:00][Z]`), typed after a
    byte-by-byte check of their shape instead of a regex over the column. Any other shape, or a
    value that is not a real date, is the general path's to decide."""
    length = int(edges.length[0])
    shape = _TIME_SHAPES.get(length)
    if shape is None or (edges.length != length).any():
        return None
    digits, fixed, template = shape
    for offsets, data in edges._chunks:
        rows = data[offsets[0]:offsets[-1]].reshape(-1, length)
        if ((rows[:, digits] - _ZERO) > 9).any() or (rows[:, fixed] != template).any():
            return None
        if length > 10 and not np.isin(rows[:, 10], _DATE_TIME_SEPARATORS).all():
            return None
    kind, fmt, utc = ("date", "%Y-%m-%d", False) if length == 10 else ("datetime", "ISO8601", True)
    parsed = _parse_times(col, fmt, utc=utc)
    return None if parsed is None else (kind, parsed)


def _leading_zero(edges: _Edges) -> np.ndarray:
    """Values matching ``_LEADING_ZERO_RE``: a zero, after an optional sign, before a digit or x."""
    signed = (edges.first == _MINUS) | (edges.first == _PLUS)
    return ((edges.first == _ZERO) & _DIGIT_OR_X[edges.second]) | (signed & (edges.second == _ZERO) & _DIGIT_OR_X[edges.third])


def _casts(values: pa.ChunkedArray, target: pa.DataType) -> bool:
    try:
        pc.cast(values, target)
    except pa.ArrowInvalid:
        return False
    return True


def _all_match(values: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


def _has_leading_zero(present: pa.ChunkedArray) -> bool:
    return bool(len(present)) and bool(_leading_zero(_Edges(present)).any())


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


def _time_shape(pattern: str) -> tuple[list[int], list[int], np.ndarray]:
    """Where a shape has digits, and its fixed separators' positions and bytes."""
    fixed = [i for i, ch in enumerate(pattern) if ch not in "d?"]
    return [i for i, ch in enumerate(pattern) if ch == "d"], fixed, np.frombuffer(pattern.encode(), np.uint8)[fixed]


# By length; '?' is the date-time separator, a space or a T. These are the shapes of _DATE_RE and
# of _DATETIME_RE without seconds' fractions or a zone.
_TIME_SHAPES = {len(p): _time_shape(p) for p in ("dddd-dd-dd", "dddd-dd-dd?dd:dd", "dddd-dd-dd?dd:dd:dd",
                                                  "dddd-dd-dd?dd:ddZ", "dddd-dd-dd?dd:dd:ddZ")}
_DATE_TIME_SEPARATORS = np.frombuffer(b" T", np.uint8)
_PLUS, _MINUS, _ZERO = b"+-0"
_DIGIT_OR_X = np.zeros(256, bool)
_DIGIT_OR_X[list(b"0123456789xX")] = True

_STRING = object()  # a converter's "this is text; try no other type"
_NA_ARRAY = pa.array(sorted(NA_VALUES), pa.string())
_BOOL_ARRAY = pa.array(["true", "false"], pa.string())
# In the order tried: the first type a column fits is its type.
_KIND_PATTERNS = (
    ("bool", r"^(?i:true|false)$"),
    ("int", _INT_RE),
    ("float", _FLOAT_RE),
    ("date", _DATE_RE),
    ("datetime", _DATETIME_RE),
)
_ANY_KIND = "|".join(f"(?:{pattern})" for _, pattern in _KIND_PATTERNS)
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

