"""Variants of a task's tables for test-suite accuracy (Zhong et al., 2020): the same schema and
types, other data. A program that computes its answer agrees with the teacher's on every
variant; a literal, or a constant dressed up as data, does not.

Variants are derived from the tables alone, with a seed taken from their content, so the
same tables always give the same variants. Each kind changes a different thing an answer
can depend on: which rows there are, the numbers themselves and the category labels
(``sample``: some rows, numbers perturbed, labels swapped), and the order of the numbers
(``mirror``: numbers reflected, so every comparison turns around). These stay near the original (at least half the rows, the same
value ranges) so that programs which agree on the original for the right reason keep
agreeing. Farther variants (each column shuffled on its own; a few rows) are tried only for
a task whose answer no near variant changes (``extremes``), and the tables without the rows
that hold the answer (``without``) only when none of those changes it either."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from csvdsl.tables import Catalog, Table

KINDS = ("sample", "mirror")  # near variants, tried for every task
EXTREME_ROWS = (1, 2, 5)  # the extreme variants' row counts
MAX_ROWS = 20_000  # a variant of a larger table starts from a sample of this many rows
MAX_CATEGORIES = 200  # a text column with more distinct values is not a category: its values are kept
CODE_VALUES = 12  # an int column with at most this many distinct values is a code (as the synthesizer's profile says)


def seed_for(key: str) -> int:
    """A deterministic seed from any text (the tables' key, a task's program)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:16], 16)


def variant_catalogs(catalog: Catalog, key: str) -> list[tuple[str, Catalog]]:
    """One catalog per kind in ``KINDS``, seeded by ``key`` (the tables' content key)."""
    rng = np.random.default_rng(seed_for(key))
    return [(kind, _catalog(catalog, lambda t, kind=kind: _VARIANTS[kind](_base(t.frame, rng), t.schema, rng)))
            for kind in KINDS]


def extremes(catalog: Catalog, key: str) -> list[tuple[str, Catalog]]:
    """Farther variants, for answers no near variant changes: each column shuffled on its
    own, and tiny tables (a few random rows of each)."""
    rng = np.random.default_rng(seed_for("extreme:" + key))
    return [("shuffle", _catalog(catalog, lambda t: _shuffle(_base(t.frame, rng), t.schema, rng)))] + \
        [(f"rows-{n}", _catalog(catalog, lambda t, n=n: _rows(t.frame, n, rng))) for n in EXTREME_ROWS]


def answer_parts(values: list) -> tuple[list[str], list]:
    """The texts and the numbers among an answer's values: what ``without`` looks for."""
    texts = [value for value in values if isinstance(value, str) and value]
    numbers = [value for value in values if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return texts, numbers


def without(catalog: Catalog, key: str, texts: list[str], numbers: list) -> Catalog | None:
    """The tables (a sample of a large one, as for the other variants; seeded by ``key``)
    without every row where a text cell contains one of ``texts`` or a number cell equals one
    of ``numbers``; None when no row holds one. Some answers no sample moves: the most common
    prefix of a code stays the most common in any subset. Without its rows the teacher's
    program finds another, and a written-down answer does not."""
    rng = np.random.default_rng(seed_for("without:" + key))
    bases = {name: _base(catalog[name].frame, rng) for name in catalog.names()}
    masks = {name: _holding(bases[name], catalog[name].schema, texts, numbers) for name in catalog.names()}
    if not any(mask.any() for mask in masks.values()):
        return None
    return _catalog(catalog, lambda t: bases[t.name][~masks[t.name]])


def _holding(frame: pd.DataFrame, schema: dict, texts: list[str], numbers: list) -> np.ndarray:
    """Which rows of ``frame`` hold one of the texts or numbers."""
    mask = np.zeros(len(frame), dtype=bool)
    pattern = "|".join(re.escape(text) for text in texts)  # one pass a column, however many texts
    for column, kind in schema.items():
        values = frame[column]
        if kind == "string" and texts:
            mask |= values.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)
        elif kind in ("int", "float") and numbers:
            mask |= values.isin(numbers).to_numpy(dtype=bool)
    return mask


def _catalog(catalog: Catalog, make) -> Catalog:
    tables = []
    for name in catalog.names():
        table = catalog[name]
        # A copy, so each column type is one block: every filter and sort of it takes fewer steps.
        frame = make(table).reset_index(drop=True).copy()
        tables.append(Table(name, None, frame, dict(table.schema), table.encoding, table.delimiter))
    return Catalog(tables)


def _base(frame: pd.DataFrame, rng) -> pd.DataFrame:
    return frame if len(frame) <= MAX_ROWS else frame.iloc[np.sort(rng.choice(len(frame), MAX_ROWS, replace=False))]


def _rows(frame: pd.DataFrame, n: int, rng) -> pd.DataFrame:
    return frame.iloc[np.sort(rng.choice(len(frame), min(n, len(frame)), replace=False))] if len(frame) else frame


def _sample(frame: pd.DataFrame, schema: dict, rng) -> pd.DataFrame:
    """Half to four fifths of the rows, in another order."""
    if len(frame) < 2:
        return frame
    count = max(1, int(len(frame) * rng.uniform(0.5, 0.8)))
    return frame.iloc[rng.permutation(len(frame))[:count]]


def _shuffle(frame: pd.DataFrame, schema: dict, rng) -> pd.DataFrame:
    """Each column's values permuted on its own: the same values, other rows."""
    out = frame.copy()
    for column in frame.columns:
        out[column] = frame[column].to_numpy()[rng.permutation(len(frame))]
    return out


def _perturb(frame: pd.DataFrame, schema: dict, rng) -> pd.DataFrame:
    """Numbers (not codes) moved by about a fifth of their spread (whole numbers stay whole),
    dates by up to a month, and the rows reordered."""
    out = frame.iloc[rng.permutation(len(frame))].copy()
    for column, kind in schema.items():
        values = out[column]
        if kind in ("int", "float") and not _is_code(values, kind):
            spread = float(values.std()) if values.notna().sum() > 1 else 1.0
            noise = rng.normal(0.0, max(spread, 1.0) * 0.2, len(out))
            moved = values.to_numpy(dtype="float64") + noise
            out[column] = _like(values, np.round(moved) if kind == "int" else moved)
        elif kind in ("date", "datetime"):
            days = pd.to_timedelta(rng.integers(-30, 31, len(out)), unit="D")
            out[column] = values + days
    return out


def _mirror(frame: pd.DataFrame, schema: dict, rng) -> pd.DataFrame:
    """Each numeric column reflected within its range (the smallest becomes the largest), so
    every comparison between values turns around."""
    out = frame.copy()
    for column, kind in schema.items():
        values = out[column]
        if kind in ("int", "float") and values.notna().any() and not _is_code(values, kind):
            low, high = values.min(), values.max()
            out[column] = _like(values, (low + high) - values.to_numpy(dtype="float64"))
    return out


def _swap(frame: pd.DataFrame, schema: dict, rng) -> pd.DataFrame:
    """The labels of each category column permuted among themselves (every label moves), and
    booleans flipped: the groups keep their rows, and change names."""
    out = frame.copy()
    for column, kind in schema.items():
        values = out[column]
        if kind == "string" or _is_code(values, kind):
            labels = pd.unique(values.dropna())
            if 2 <= len(labels) <= MAX_CATEGORIES:
                shift = rng.integers(1, len(labels))  # a rotation of a random order: no label keeps its place
                order = rng.permutation(len(labels))
                mapping = {labels[order[i]]: labels[order[(i + shift) % len(labels)]] for i in range(len(labels))}
                out[column] = values.map(mapping).astype(values.dtype)
        elif kind == "bool":
            out[column] = ~values if values.dtype == bool else values.map({True: False, False: True}).astype(values.dtype)
    return out


def _is_code(values: pd.Series, kind: str) -> bool:
    """Whole numbers with a few distinct values (engines, month) label groups rather than
    measure: they are swapped like labels, not reflected (reflecting ``engines`` would swap
    the groups and turn the comparison around twice)."""
    return kind == "int" and values.nunique() <= CODE_VALUES


def _like(original: pd.Series, values: np.ndarray) -> pd.Series:
    """New values in the original's dtype, its nulls kept."""
    series = pd.Series(values, index=original.index)
    series[original.isna().to_numpy()] = np.nan
    if original.dtype.kind in "iu":
        return series.astype(original.dtype)
    return series.astype(original.dtype) if original.dtype.kind == "f" else series


_VARIANTS = {"sample": lambda frame, schema, rng: _swap(_perturb(_sample(frame, schema, rng), schema, rng), schema, rng),
             "mirror": _mirror}
