"""The grammar file, loaded once: the Lark parser built from it and the keywords it defines."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from importlib import resources
from pathlib import Path

import lark
from lark import Lark
from lark.lark import PostLex

GRAMMAR_FILE = "csvdsl.lark"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # the grammar's NAME terminal, whole


@functools.cache
def grammar_text() -> str:
    """The text of ``grammar/csvdsl.lark`` from the installed package (or the source tree)."""
    try:
        return (resources.files("csvdsl._grammar") / GRAMMAR_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return (Path(__file__).resolve().parents[1] / "grammar" / GRAMMAR_FILE).read_text(encoding="utf-8")


def cache_file() -> str | bool:
    """Where Lark keeps the analysed grammar between runs, named by what it depends on; False
    when the folder cannot be made. The user's cache folder, not the shared temporary one Lark
    would pick: the file is a pickle, loaded on every start."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME", ""))
        folder = (base if base.is_absolute() else Path.home() / ".cache") / "csvdsl"  # XDG: relative is ignored
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home folder at all
        return False
    key = f"{grammar_text()}|{lark.__version__}|{sys.version_info[:2]}"
    return str(folder / f"grammar-{hashlib.sha256(key.encode()).hexdigest()[:16]}.lark")


class _WholeWords(PostLex):
    """Keywords are whole words. The contextual lexer tries only what the parser accepts next,
    so after `|` it would read `dropa` as `drop` + `a`; with NAME always among the candidates
    the longest word wins and is retyped as a keyword only when it is one."""

    always_accept = ("NAME",)

    def process(self, stream):
        return stream


def build_parser(lexer_callbacks: dict | None = None, strict: bool = False) -> Lark:
    """A fresh LALR parser over the grammar; its tables come from the cache file when it holds
    them (analysing the grammar takes about 0.4 s, loading the tables 15 ms)."""
    cache = not strict and cache_file()  # strict checks run while analysing, so never from the cache
    return Lark(
        grammar_text(),
        cache=cache,
        cache_grammar=bool(cache),  # the grammar itself too, for tools that read it (hypothesis' from_lark)
        parser="lalr",
        lexer="contextual",
        postlex=_WholeWords(),
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks=lexer_callbacks or {},
        strict=strict,
    )


@functools.cache
def keywords() -> frozenset[str]:
    """Every word the grammar reserves somewhere (``filter``, ``and``, ``desc``, ...)."""
    words = set()
    for terminal in build_parser().terminals:
        pattern = terminal.pattern
        if pattern.type == "str" and IDENTIFIER.match(pattern.value):
            words.add(pattern.value)
        elif pattern.type == "re":
            # Word alternations such as DIRECTION: /(asc|desc)(?![A-Za-z0-9_])/.
            alternation = re.match(r"\(([a-z|]+)\)", pattern.value)
            if alternation:
                words.update(alternation.group(1).split("|"))
    return frozenset(words)


def is_plain_name(name: str) -> bool:
    """True when ``name`` can be written without backticks."""
    return bool(IDENTIFIER.match(name)) and name not in keywords()
