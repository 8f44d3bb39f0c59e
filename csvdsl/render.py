"""Values to JSON, plain text and markdown; text and markdown tables are bounded with a
"... N more rows" note, and long cells are clipped."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import shutil
import tempfile

import numpy as np
import pandas as pd

from planner.execute import Value, python_value

MAX_ROWS = 20
MAX_CELL = 48


def json_cell(value):
    """A Python value as JSON allows it: dates in ISO form, infinities as strings."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def table_rows(value: Value, limit: int | None = None) -> list[list]:
    """The rows of a table value as lists of Python values, typed by the table's schema."""
    frame = value.value if limit is None else value.value.head(limit)
    types = dict(value.table.columns) if value.table else {}
    columns = [[python_value(v, types.get(name)) for v in frame[name].tolist()] for name in frame.columns]
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in range(len(frame))]


def to_json(value: Value, max_rows: int | None = None) -> dict:
    """The ``--format json`` object: ``{"type": ..., "value": ...}``; a table (or list) longer
    than ``max_rows``, or already cut (``Value.rows_total``), also says ``"truncated": true``
    and ``"rows_total"`` (and ``"sha256"`` of the whole, when known)."""
    if value.kind == "table":
        shown = value if max_rows is None else _head(value, max_rows)
        rows = [[json_cell(c) for c in row] for row in table_rows(shown)]
        out = {"type": "table", "value": {"columns": [str(c) for c in value.value.columns], "rows": rows}}
        return out | _cut_marks(value, len(rows))
    if value.kind == "list":
        items = value.value if max_rows is None else value.value[:max_rows]
        return {"type": "list", "value": [json_cell(v) for v in items]} | _cut_marks(value, len(items))
    if value.kind == "record":  # each part's value under its name, in the answer's order
        return {"type": "record", "value": {name: to_json(part, max_rows)["value"] for name, part in value.value.items()}}
    return {"type": value.kind, "value": json_cell(value.value)}


def _head(value: Value, rows: int) -> Value:
    if len(value.value) <= rows:
        return value
    return Value(value.kind, value.value.head(rows), value.dtype, value.ordered, value.table)


def _cut_marks(value: Value, shown: int) -> dict:
    total = value.rows_total if value.rows_total is not None else len(value.value)
    if total <= shown:
        return {}
    # The hash of the whole lets a verifier compare a cut answer with another without its rows.
    return {"truncated": True, "rows_total": total, "sha256": value.sha256 or content_sha256(value)}


_CHUNK = 10_000  # rows converted to Python values at a time when streaming
_SPOOL_BYTES = 32 * 2**20  # a table's JSON text held in memory up to this size, on disk beyond it


def write_json(value: Value, sink, max_rows: int | None = None) -> None:
    """Write ``to_json(value, max_rows)`` to a text stream, a table a chunk of rows at a time,
    so the text of a large answer is never built whole in memory. Nothing reaches ``sink``
    unless the whole document was made: an error half-way must not leave a torn document
    before the error's own (on standard output, one JSON document or the other)."""
    with tempfile.SpooledTemporaryFile(_SPOOL_BYTES, mode="w+", encoding="utf-8", errors="surrogatepass") as spool:
        _write(value, spool, max_rows)
        spool.seek(0)
        shutil.copyfileobj(spool, sink)


def _write(value: Value, sink, max_rows: int | None) -> None:
    if value.kind != "table":
        sink.write(dumps(to_json(value, max_rows)))
    else:
        _write_table_json(value, sink, max_rows)


def _write_table_json(value: Value, sink, max_rows: int | None) -> None:
    frame = value.value
    total = len(frame) if max_rows is None else min(len(frame), max_rows)
    columns = dumps([str(c) for c in frame.columns])
    sink.write(f'{{"type": "table", "value": {{"columns": {columns}, "rows": [')
    types = dict(value.table.columns) if value.table else {}
    for start in range(0, total, _CHUNK):
        chunk = frame.iloc[start:min(start + _CHUNK, total)]
        columns = [_json_cells(chunk[name], types.get(name)) for name in chunk.columns]
        rows = list(zip(*columns)) if columns else [() for _ in range(len(chunk))]
        sink.write((", " if start else "") + dumps(rows)[1:-1])  # one encoder call per chunk
    sink.write("]}")
    for key, mark in _cut_marks(value, total).items():
        sink.write(f", {dumps(key)}: {dumps(mark)}")
    sink.write("}")


def _json_cells(series, kind: str | None) -> list:
    """A column's cells as ``json_cell(python_value(...))`` gives them, a whole column at a time
    where its storage makes that exact (whole numbers, floats, text, bools)."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub" and kind in ("int", "bool"):
        return series.tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and kind == "float":
        array = series.to_numpy()
        cells = array.tolist()
        if not np.isfinite(array).all():
            cells = [json_cell(None if v != v else v) for v in cells]  # NaN is null; infinities as text
        return cells
    if kind == "string" and pd.api.types.is_string_dtype(dtype):
        missing = series.isna().to_numpy()
        return series.tolist() if not missing.any() else [None if m else v for v, m in zip(series.tolist(), missing)]
    return [json_cell(python_value(v, kind)) for v in series.tolist()]


class _Hasher:
    def __init__(self):
        self.digest = hashlib.sha256()

    def write(self, text: str) -> None:
        self.digest.update(text.encode("utf-8"))


def content_sha256(value: Value) -> str:
    """The sha256 of a value's whole JSON text (as ``write_json`` writes it, uncut)."""
    hasher = _Hasher()
    # Straight into the hash, not through write_json's spool: no one reads a torn one.
    _write(Value(value.kind, value.value, value.dtype, value.ordered, value.table), hasher, None)
    return hasher.digest.hexdigest()


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def text_scalar(value) -> str:
    """One value as a person reads it: strings bare, null as ``null``, floats shortest."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Text for a terminal: control characters (escape sequences, bidirectional overrides)
    shown escaped, ``\x1b`` as the four characters ``\x1b``; tabs and line breaks kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text)


def _clip(text: str, width: int = MAX_CELL) -> str:
    text = terminal_safe(text.replace("\n", "\\n").replace("\t", "\\t"))
    return text if len(text) <= width else text[: width - 1] + "…"


def _footer(total: int, shown: int) -> str | None:
    return f"... {total - shown:,} more rows" if total > shown else None


def render_text(value: Value, max_rows: int = MAX_ROWS) -> str:
    """A value as plain text; tables as aligned columns."""
    if value.kind == "table":
        return _text_table(value, max_rows)
    if value.kind == "record":  # one part per line, as the answer names them
        return "\n".join(f"{name}: {render_text(part, max_rows)}" for name, part in value.value.items())
    if value.kind == "list":
        shown = terminal_safe(dumps([json_cell(v) for v in value.value[:max_rows]]))
        more = len(value.value) - max_rows
        return shown if more <= 0 else f"{shown[:-1]}, ...] ({more:,} more items)"
    return terminal_safe(text_scalar(value.value))


def _text_table(value: Value, max_rows: int) -> str:
    frame = value.value
    names = [_clip(str(c), 10**6) for c in frame.columns]
    typed = table_rows(value, max_rows)
    rows = [[_clip(text_scalar(c)) for c in row] for row in typed]
    numeric = [all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) or r[i] is None for r in typed) for i in range(len(names))]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]

    def line(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [line(names), line(["-" * w for w in widths])] + [line(r) for r in rows]
    footer = _footer(len(frame), len(rows))
    if footer:
        out.append(footer)
    out.append(f"({len(frame):,} row{'s' if len(frame) != 1 else ''}, {len(names)} column{'s' if len(names) != 1 else ''})")
    return "\n".join(out)


def render_markdown(value: Value, max_rows: int = MAX_ROWS) -> str:
    """A value as markdown; tables as pipe tables."""
    if value.kind != "table":
        text = render_text(value)
        return f"`{text}`" if "\n" not in text else f"```\n{text}\n```"
    frame = value.value
    escape = lambda s: _clip(s).replace("|", "\\|")
    out = ["| " + " | ".join(escape(str(c)) for c in frame.columns) + " |",
           "|" + "|".join(" --- " for _ in frame.columns) + "|"]
    out += ["| " + " | ".join(escape(text_scalar(c)) for c in row) + " |" for row in table_rows(value, max_rows)]
    footer = _footer(len(frame), min(len(frame), max_rows))
    if footer:
        out.append(f"\n{footer}")
    return "\n".join(out)


RENDERERS = {"text": render_text, "markdown": render_markdown}
