"""Column types: CSV text columns and in-memory frames converted to the storage tables use."""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from csvdsl.errors import DataError
from csvdsl.tables.table import NA_VALUES, Table
from csvdsl.tables.shapes import DATE_RE, DATETIME_RE, FIRST, FLOAT_RE, INT_RE, LAST

# Parsed datetimes get one resolution so columns from different files compare and concatenate
# alike; microseconds (not nanoseconds) so sentinel dates such as 9999-12-31 still fit.
_TIME_UNIT = "datetime64[us]"
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # "str", without looking the name up per column

_SAMPLE = 256


def convert_column(col: pa.ChunkedArray) -> tuple[str, pd.Series]:
    """The type name of one column of strings and the column converted to its storage dtype."""
    if len(col) and not col.null_count:  # the reader's columns hold no nulls
        edges = _Edges(col)
        plain = _plain_numbers(col, edges) or _plain_times(col, edges)
        if plain is not None:
            return plain
        return _typed(col, edges)
    return _typed(col)


def _typed(col: pa.ChunkedArray, edges: _Edges | None = None) -> tuple[str, pd.Series]:
    """The general path: values trimmed, missing-value markers found, then the first type the
    values fit. The ``edges`` of a column without nulls may show that trimming changes nothing."""
    marked = None if edges is None else _untrimmed_markers(col, edges)
    if marked is not None:
        trimmed, has_missing = col, bool(marked.any())
        missing = _chunked_like(col, marked) if has_missing else None
    else:
        trimmed = pc.utf8_trim_whitespace(col)
        missing = pc.is_in(trimmed, value_set=_NA_ARRAY)
        has_missing = bool(pc.any(missing).as_py())
    sample = _first_present(trimmed, missing) if has_missing else trimmed.slice(0, _SAMPLE)
    # Regexes on a small sample rule most types out cheaply (one regex for text, which fits none);
    # the full column is only parsed for the types its sample fits, and the parse is the check.
    if len(sample) and _sample_matches(sample, _ANY_KIND):
        present = pc.filter(trimmed, pc.invert(missing)) if has_missing else trimmed
        values = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed) if has_missing else trimmed
        for kind, pattern in _KIND_PATTERNS:
            if not _sample_matches(sample, pattern):
                continue
            converted = _CONVERTERS[kind](values, present, has_missing)
            if converted is _STRING:
                break
            if converted is not None:
                return kind, converted
    # Strings keep their original spacing; only the missing ones change.
    original = pc.if_else(missing, pa.scalar(None, pa.string()), col) if has_missing else col
    return "string", pd.Series(pd.array(original, dtype=_TEXT))


def _first_present(trimmed: pa.ChunkedArray, missing: pa.ChunkedArray) -> pa.ChunkedArray:
    """The first ``_SAMPLE`` values not missing, from as few leading values as hold them."""
    size = 4 * _SAMPLE
    while True:
        head = pc.filter(trimmed.slice(0, size), pc.invert(missing.slice(0, size)))
        if len(head) >= _SAMPLE or size >= len(trimmed):
            return head.slice(0, _SAMPLE)
        size *= 16


class _Edges:
    """Each value's length in bytes and its first, second and last bytes, read off the column's
    buffers when first asked for: what checks that would otherwise take a pass of Arrow string
    kernels each need. Bytes past a value's end are another value's (or 0), so every use of them
    looks at the length too."""

    def __init__(self, col: pa.ChunkedArray):
        self._chunks = [_buffers(chunk) for chunk in col.chunks if len(chunk)]

    def _each(self, per_chunk) -> np.ndarray:
        parts = [per_chunk(offsets, data) for offsets, data in self._chunks]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @functools.cached_property
    def length(self) -> np.ndarray:
        return self._each(lambda offsets, _: np.diff(offsets))

    # The offsets as numpy's index type, once: a take converts 32-bit indices into a new array on
    # every call. mode="clip": an empty value at the very end starts where the data ends, and
    # one at the very start ends before it begins.
    @functools.cached_property
    def _indices(self) -> list[np.ndarray]:
        return [offsets.astype(np.intp) for offsets, _ in self._chunks]

    def _at(self, start: int, shift: int) -> np.ndarray:
        """The byte ``shift`` after each value's start (``start`` 0) or end (``start`` 1)."""
        parts = []
        for offsets, (_, data) in zip(self._indices, self._chunks):
            where = offsets[start:len(offsets) - 1 + start]
            parts.append(np.take(data, where + shift if shift else where, mode="clip"))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @functools.cached_property
    def first(self) -> np.ndarray:
        return self._at(0, 0)

    @functools.cached_property
    def second(self) -> np.ndarray:
        return self._at(0, 1)

    @functools.cached_property
    def last(self) -> np.ndarray:
        return self._at(1, -1)

    def byte(self, rows: np.ndarray, k: int) -> np.ndarray:
        """Byte ``k`` of the values at ``rows`` (positions in the column), each longer than ``k``:
        for the few values a check of first bytes leaves in doubt."""
        if len(self._chunks) == 1:
            offsets, data = self._chunks[0]
            return data[offsets[rows] + k]
        got, start = np.empty(len(rows), np.uint8), 0
        for offsets, data in self._chunks:
            end = start + len(offsets) - 1
            inside = (rows >= start) & (rows < end)
            got[inside] = data[offsets[rows[inside] - start] + k]
            start = end
        return got

    def mention(self, characters: bytes) -> bool:
        """Whether any value holds one of the (one-byte) ``characters``."""
        for offsets, data in self._chunks:
            text = data[offsets[0]:offsets[-1]].tobytes()
            if any(bytes([c]) in text for c in characters):  # memchr
                return True
        return False


def _buffers(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets and data bytes, as numpy views of its buffers."""
    _, offsets_buffer, data_buffer = chunk.buffers()
    width = 8 if pa.types.is_large_string(chunk.type) else 4
    offsets = np.frombuffer(offsets_buffer, dtype=f"int{width * 8}", count=len(chunk) + 1, offset=chunk.offset * width)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None and len(data_buffer) else np.zeros(1, np.uint8)
    return offsets, data


def _chunked_like(col: pa.ChunkedArray, flags: np.ndarray) -> pa.ChunkedArray:
    """Per-value flags as a boolean column chunked as ``col`` is."""
    bounds = np.cumsum([0] + [len(chunk) for chunk in col.chunks])
    return pa.chunked_array([pa.array(flags[a:b]) for a, b in itertools.pairwise(bounds)], pa.bool_())


def _untrimmed_markers(col: pa.ChunkedArray, edges: _Edges) -> np.ndarray | None:
    """Which values are missing-value markers, when trimming would change no value: each starts
    and ends with printable ASCII other than a space (or is empty), which no whitespace is. None
    leaves the column to be trimmed. Only the values with a marker's length and first byte are
    looked up among the markers."""
    length = edges.length
    # uint8 arithmetic wraps around: a byte below '!' becomes large.
    spaced = ((edges.first - _BANG) >= _PRINTABLES) | ((edges.last - _BANG) >= _PRINTABLES)
    if spaced.any() and (spaced & (length != 0)).any():
        return None
    rows = np.flatnonzero(np.take(_MAYBE_MARKER, np.minimum(length, _MARKER_ROWS - 1) * 256 + edges.first))
    marked = np.zeros(len(length), bool)
    if len(rows):
        marked[rows] = pc.is_in(pc.take(col, rows), value_set=_NA_ARRAY).to_numpy(zero_copy_only=False)
    return marked


def _without_empty(col: pa.ChunkedArray, empty: np.ndarray) -> pa.ChunkedArray:
    """The column with its empty values null: the same buffers under a validity bitmap."""
    chunks, start = [], 0
    for chunk in col.chunks:
        blank, start = empty[start:start + len(chunk)], start + len(chunk)
        if not blank.any():
            chunks.append(chunk)
            continue
        # The offsets from the chunk's own offset on: the new array starts at its first value.
        offsets, _ = _buffers(chunk)
        bitmap = pa.py_buffer(np.packbits(~blank, bitorder="little"))
        data = chunk.buffers()[2] or pa.py_buffer(b"")
        chunks.append(pa.Array.from_buffers(chunk.type, len(chunk), [bitmap, pa.py_buffer(offsets), data],
                                            null_count=int(np.count_nonzero(blank))))
    return pa.chunked_array(chunks, col.type)


def _plain_numbers(col: pa.ChunkedArray, edges: _Edges) -> tuple[str, pd.Series] | None:
    """Most numeric columns, typed without trimming every value and looking each up among the
    missing-value markers: numbers with no spacing, no '+' and no missing value but the empty
    field. A cast fails on spacing and on every other marker, and then (or for a column this
    cannot decide) None leaves the column to the general path, which types it the same way."""
    if not _NUMBER_START[edges.first[:_SAMPLE][edges.length[:_SAMPLE] != 0]].all():
        return None  # the head's casts would fail: on a short column they cost more than this
    empty = edges.length == 0
    head = col.slice(0, _SAMPLE)
    if empty[:_SAMPLE].any():
        head = pc.filter(head, pc.not_equal(head, ""))
    # The head's cast rules kinds out; the whole column's cast is the check (a column no longer
    # than the head without an empty value is the head, whose cast is kept).
    ints = _cast(head, pa.int64())
    kinds = [("int", pa.int64()), ("float", pa.float64())] if ints is not None else \
        [("float", pa.float64())] if _cast(head, pa.float64()) is not None else []
    # A '+' or a leading zero is the general path's to decide; so is hexadecimal, which Arrow's
    # integer cast reads: it starts with 0x, after a sign.
    if not kinds or _leading_zero(edges, or_plus=True):
        return None
    missing = int(np.count_nonzero(empty))
    if missing == len(col):
        return None
    values = _without_empty(col, empty) if missing else col
    for kind, target in kinds:
        numbers = ints if kind == "int" and len(col) <= _SAMPLE and not missing else _cast(values, target)
        if numbers is not None:
            return _plain_ints(numbers, missing) if kind == "int" else _plain_floats(numbers, edges, missing)
    return None


def _plain_ints(ints: pa.ChunkedArray, missing: int) -> tuple[str, pd.Series] | None:
    """Integers cast from the column (null where empty)."""
    if not missing:
        return "int", pd.Series(ints.to_numpy(), dtype="int64", copy=False)
    floats = _exact_floats(ints)
    return None if floats is None else ("int", floats)


def _exact_floats(ints: pa.ChunkedArray) -> pd.Series | None:
    """Integers with nulls as float storage, or None past 2**53, where floats stop holding every
    integer exactly. (Not pc.abs: the absolute value of -2**63 wraps around to itself.)"""
    low, high = pc.min_max(ints).values()
    if max(abs(low.as_py()), abs(high.as_py())) > 2**53:
        return None
    return pd.Series(_numpy(pc.cast(ints, pa.float64()), np.nan), dtype="float64", copy=False)


def _plain_floats(floats: pa.ChunkedArray, edges: _Edges, missing: int) -> tuple[str, pd.Series] | None:
    # Only "nan" casts to NaN, and it has an n: with no n in any value, none is NaN.
    spelled = edges.mention(b"nN")
    if spelled and pc.sum(pc.is_nan(floats)).as_py():
        return None  # "nan" is a missing-value marker
    values = _numpy(floats, np.nan)
    if max(-np.fmin.reduce(values), np.fmax.reduce(values)) >= 2**63:
        return None  # an integer past int64 may be an id kept as text
    return "float", pd.Series(values, dtype="float64", copy=False)


def _numpy(values: pa.ChunkedArray, missing) -> np.ndarray:
    """The values as numpy, ``missing`` where null. The nulls are filled by Arrow, so a column in
    one chunk is then a view of Arrow's buffer rather than a copy (which the Series built on it
    keep, with copy=False: pandas 3 would copy it again)."""
    if values.null_count:
        values = pc.fill_null(values, pa.scalar(missing, values.type))
    return values.to_numpy()


def _plain_times(col: pa.ChunkedArray, edges: _Edges) -> tuple[str, pd.Series] | None:
    """Dates and times all written alike (`2013-01-01`, `2013-01-01 05:00[:00][Z]`), typed after a
    byte-by-byte check of their shape instead of a regex over the column. Any other shape, or a
    value that is not a real date, is the general path's to decide."""
    length = int(edges.length[0])
    if not _time_shaped(edges, length):
        return None
    kind, fmt, utc = ("date", "%Y-%m-%d", False) if length == 10 else ("datetime", "ISO8601", True)
    parsed = _parse_times(col, fmt, utc=utc)
    return None if parsed is None else (kind, parsed)


def _time_shaped(edges: _Edges, length: int) -> bool:
    """Whether every value is ``length`` bytes long and has the shape of that length."""
    shape = _TIME_SHAPES.get(length)
    if shape is None or (edges.length != length).any():
        return False
    fixed, template = shape
    for offsets, data in edges._chunks:
        rows = data[offsets[0]:offsets[-1]].reshape(-1, length)
        if (rows[:, fixed] != template).any():
            return False
        if length > 10 and not ((rows[:, 10] == _SPACE) | (rows[:, 10] == _T)).all():
            return False
        # Digits are at most 9 past '0' (uint8 arithmetic wraps around below '0'); the
        # separators, checked above, are zeroed to take no part.
        shifted = rows - _ZERO
        shifted[:, fixed] = 0
        if length > 10:
            shifted[:, 10] = 0
        if shifted.max() > 9:
            return False
    return True


def _leading_zero(edges: _Edges, or_plus: bool = False) -> bool:
    """Whether some value matches ``LEADING_ZERO_RE`` (a zero, after an optional sign, before a
    digit or x), or with ``or_plus`` starts with '+'. Whole-column passes look at two bytes of
    each value; the third byte is read only where the first two leave a match possible."""
    first, second, length = edges.first, edges.second, edges.length
    plus = first == _PLUS
    if or_plus and (plus & (length != 0)).any():
        return True
    # uint8 arithmetic wraps around: a byte below '0' becomes large; | 32 makes 'X' 'x'.
    digit_or_x = ((second - _ZERO) < 10) | ((second | 32) == _X)
    zero = first == _ZERO
    suspects = np.flatnonzero((zero & digit_or_x) | ((plus | (first == _MINUS)) & (second == _ZERO)))
    if not len(suspects):
        return False
    # Bytes past a value's end belong to another value: the lengths decide.
    zero, length = zero[suspects], length[suspects]
    if (zero & (length > 1)).any():
        return True
    signed = suspects[~zero & (length > 2)]  # a sign and a zero
    return bool(_DIGIT_OR_X[edges.byte(signed, 2)].any())


def _cast(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray | None:
    try:
        return pc.cast(values, target)
    except pa.ArrowInvalid:
        return None


def _all_match(values: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


_FEW = 32  # a sample this short is matched in Python: an Arrow regex call costs ~60 us whatever the size


def _sample_matches(sample: pa.ChunkedArray, pattern: str) -> bool:
    """``_all_match`` for a sample, which only rules types out (each converter checks every
    value): on a few values Python's re is 4-40x faster, which a table of many short columns
    pays once per column."""
    if len(sample) > _FEW:
        return _all_match(sample, pattern)
    python = _python_pattern(pattern)
    return all(value is None or python.search(value) for value in sample.to_pylist())


@functools.cache
def _python_pattern(pattern: str) -> re.Pattern:
    # As RE2 reads them: \d and \s ASCII only (but case folded as Unicode folds it: ſ is s), and
    # $ the very end (Python's also matches before a final newline).
    for re2, python in ((r"\d", "[0-9]"), (r"\s", r"[\t\n\f\r ]"), ("$", r"\Z")):
        pattern = pattern.replace(re2, python)
    return re.compile(pattern)


def _has_leading_zero(present: pa.ChunkedArray) -> bool:
    return bool(len(present)) and _leading_zero(_Edges(present))


def _to_bool(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    if not pc.all(pc.is_in(pc.utf8_lower(present), value_set=_BOOL_ARRAY)).as_py():
        return None
    flags = pc.equal(pc.utf8_lower(values), "true")
    if has_missing:
        return pd.Series(pd.array(flags, dtype="boolean"))
    return pd.Series(flags.to_numpy(), dtype=bool, copy=False)


def _to_int(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    try:
        ints = pc.cast(values, pa.int64())
    except pa.ArrowInvalid:
        # Arrow rejects a leading '+'.
        try:
            ints = pc.cast(pc.replace_substring_regex(values, r"^\+", ""), pa.int64())
        except pa.ArrowInvalid:
            # Integers out of int64 range (long ids) stay text rather than being rounded as floats.
            return _STRING if _all_match(present, INT_RE) else None
    if _has_leading_zero(present):
        return None
    if has_missing:
        floats = _exact_floats(ints)
        return _STRING if floats is None else floats
    return pd.Series(ints.to_numpy(), dtype="int64", copy=False)


def _to_float(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    try:
        floats = pc.cast(values, pa.float64())
    except pa.ArrowInvalid:
        return None
    if _has_leading_zero(present):
        return None
    return pd.Series(_numpy(floats, np.nan), dtype="float64", copy=False)


def _to_date(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    if not _all_match(present, DATE_RE):
        return None
    return _parse_times(values, "%Y-%m-%d", utc=False)


def _to_datetime(values: pa.ChunkedArray, present: pa.ChunkedArray, has_missing: bool) -> pd.Series | None:
    if not _all_match(present, DATETIME_RE):
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
        # NaT is the least int64; the cast to int64 is a view of the same buffers.
        micros = _numpy(pc.cast(pc.cast(stamps, pa.timestamp("us")), pa.int64()), np.iinfo(np.int64).min)
        return _within_years(pd.Series(micros.view(_TIME_UNIT), dtype=_TIME_UNIT, copy=False))
    strings = pd.Series(pd.array(values, dtype=_TEXT))
    # utc=True converts each offset to UTC (values without one are taken as UTC already).
    parsed = pd.to_datetime(strings, format=fmt, utc=utc, errors="coerce")
    if parsed.isna().sum() != strings.isna().sum():
        return None
    if utc:
        parsed = parsed.dt.tz_localize(None)
    return _within_years(parsed.astype(_TIME_UNIT))


def _within_years(times: pd.Series) -> pd.Series | None:
    """``times``, or None (text) if one is outside years 1 to 9999, which Python's datetime
    cannot hold: "0000-01-01", or "0001-01-01T00:30+01:00" in UTC."""
    values = times.to_numpy()
    present = values[~np.isnat(values)] if times.hasnans else values
    if len(present) and (present.min() < FIRST or present.max() > LAST):
        return None
    return times


def _time_shape(pattern: str) -> tuple[list[int], np.ndarray]:
    """A shape's fixed separators' positions and bytes (every other position but the date-time
    separator's is a digit's)."""
    fixed = [i for i, ch in enumerate(pattern) if ch not in "d?"]
    return fixed, np.frombuffer(pattern.encode(), np.uint8)[fixed]


# By length; '?' is the date-time separator, a space or a T. These are the shapes of DATE_RE and
# of DATETIME_RE without seconds' fractions or a zone.
_TIME_SHAPES = {len(p): _time_shape(p) for p in ("dddd-dd-dd", "dddd-dd-dd?dd:dd", "dddd-dd-dd?dd:dd:dd",
                                                  "dddd-dd-dd?dd:ddZ", "dddd-dd-dd?dd:dd:ddZ")}
_PLUS, _MINUS, _ZERO, _SPACE, _T, _BANG, _X = b"+-0 T!x"
_PRINTABLES = ord("~") - _BANG + 1
_DIGIT_OR_X = np.zeros(256, bool)
_DIGIT_OR_X[list(b"0123456789xX")] = True

_STRING = object()  # a converter's "this is text; try no other type"
_NA_ARRAY = pa.array(sorted(NA_VALUES), pa.string())
# By length (the last row: longer than any marker) and first byte: whether a marker could be the
# value (any value of length 0 is "", a marker).
_NUMBER_START = np.zeros(256, bool)  # the first bytes of what Arrow casts to a number (inf, nan)
_NUMBER_START[list(b"0123456789+-.iInN")] = True
_MARKER_ROWS = max(map(len, NA_VALUES)) + 2
_MAYBE_MARKER = np.zeros((_MARKER_ROWS, 256), bool)
_MAYBE_MARKER[0] = True
for _marker in NA_VALUES:
    _MAYBE_MARKER[len(_marker), _marker.encode()[0] if _marker else 0] = True
_MAYBE_MARKER = _MAYBE_MARKER.ravel()
_BOOL_ARRAY = pa.array(["true", "false"], pa.string())
# In the order tried: the first type a column fits is its type.
_KIND_PATTERNS = (
    ("bool", r"^(?i:true|false)$"),
    ("int", INT_RE),
    ("float", FLOAT_RE),
    ("date", DATE_RE),
    ("datetime", DATETIME_RE),
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

