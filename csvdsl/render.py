"""Values to JSON, plain text and markdown; text and markdown tables are bounded with a
"... N more rows" note, and long cells are clipped."""

from __future__ import annotations

import datetime as dt
import json
import math

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


def to_json(value: Value) -> dict:
    """The ``--format json`` object: ``{"type": ..., "value": ...}``."""
    if value.kind == "table":
        rows = [[json_cell(c) for c in row] for row in table_rows(value)]
        return {"type": "table", "value": {"columns": [str(c) for c in value.value.columns], "rows": rows}}
    if value.kind == "list":
        return {"type": "list", "value": [json_cell(v) for v in value.value]}
    return {"type": value.kind, "value": json_cell(value.value)}


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


def _clip(text: str, width: int = MAX_CELL) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def _footer(total: int, shown: int) -> str | None:
    return f"... {total - shown:,} more rows" if total > shown else None


def render_text(value: Value, max_rows: int = MAX_ROWS) -> str:
    """A value as plain text; tables as aligned columns."""
    if value.kind == "table":
        return _text_table(value, max_rows)
    if value.kind == "list":
        shown = dumps([json_cell(v) for v in value.value[:max_rows]])
        more = len(value.value) - max_rows
        return shown if more <= 0 else f"{shown[:-1]}, ...] ({more:,} more items)"
    return text_scalar(value.value)


def _text_table(value: Value, max_rows: int) -> str:
    frame = value.value
    names = [str(c) for c in frame.columns]
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
