"""Highlighting: the tokens of the language, from the grammar, and their styles."""

from __future__ import annotations

import functools
import re
from typing import Callable, NamedTuple

from prompt_toolkit.document import Document
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style

from csvdsl.grammar import build_parser, keywords
from csvdsl.signatures import SIGNATURES


class Token(NamedTuple):
    kind: str  # comment, string, quoted, number, word, pipe, operator, space, other
    text: str
    start: int


_LEXICAL = (("COMMENT", "comment"), ("STRING", "string"), ("QUOTED", "quoted"), ("FLOAT", "number"),
            ("INT", "number"), ("NAME", "word"))
# A string or quoted name still being typed stays one token, so the rest of the line does not
# light up as keywords until the closing quote arrives.
_UNFINISHED = (("string", r"\"(?:[^\"\\\n]|\\.)*\\?|'(?:[^'\\\n]|\\.)*\\?"), ("quoted", r"`(?:[^`\\\n]|\\.)*\\?"))


@functools.cache
def _token_pattern() -> tuple[re.Pattern, tuple[str, ...]]:
    """One regex over the grammar's own terminals: names, literals, comments and punctuation."""
    terminals = {t.name: t.pattern for t in build_parser().terminals}
    parts = [(kind, terminals[name].to_regexp()) for name, kind in _LEXICAL]
    parts[3:3] = _UNFINISHED  # after the finished forms, before numbers and names
    for name, pattern in terminals.items():
        regex = pattern.to_regexp()
        if name.startswith("_") or name in dict(_LEXICAL) or any(re.fullmatch(regex, w) for w in keywords()):
            continue  # newlines and ignored spaces, the lexical classes above, and keywords (read as names)
        parts.append(("pipe" if pattern.value == "|" else "operator", regex))
    parts += [("space", r"\s+"), ("other", r"(?s:.)")]
    combined = "|".join(f"(?P<t{i}>{regex})" for i, (_, regex) in enumerate(parts))
    return re.compile(combined), tuple(kind for kind, _ in parts)


def scan(text: str) -> list[Token]:
    """Split text into tokens the way the grammar's lexer would, tolerating unfinished input."""
    pattern, kinds = _token_pattern()
    tokens, position = [], 0
    while position < len(text):
        match = pattern.match(text, position)
        tokens.append(Token(kinds[int(match.lastgroup[1:])], match.group(), position))
        position = match.end()
    return tokens


def _word_style(token: Token, rest: str, names: frozenset[str]) -> str:
    if token.text in keywords():
        return "keyword"
    if token.text.lower() in SIGNATURES and rest.lstrip().startswith("("):
        return "function"  # a call; the same word alone is a column
    return "table" if token.text in names else "name"


_TOKEN_STYLES: dict[str, Callable[[Token, str, frozenset], str]] = {
    "word": _word_style,
    "quoted": lambda t, rest, names: "table" if t.text.strip("`") in names else "name",
    "comment": lambda *_: "comment",
    "string": lambda *_: "string",
    "number": lambda *_: "number",
    "pipe": lambda *_: "pipe",
    "operator": lambda *_: "operator",
    "space": lambda *_: "",
    "other": lambda *_: "",
}


def highlight(line: str, names: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """prompt_toolkit fragments for one line of program text: ``("class:keyword", "filter")``."""
    fragments = []
    for token in scan(line):
        style = _TOKEN_STYLES[token.kind](token, line[token.start + len(token.text):], names)
        fragments.append((f"class:{style}" if style else "", token.text))
    return fragments


class DslLexer(Lexer):
    """Highlighting derived from the grammar's terminals and keywords and the function registry;
    ``names`` gives the tables and bindings to mark as such."""

    def __init__(self, names: Callable[[], frozenset[str]] = frozenset):
        self.names = names

    def lex_document(self, document: Document):
        lines = document.lines
        names = frozenset(self.names())
        command = bool(lines) and lines[0].lstrip().startswith(":")

        def line(number: int) -> list[tuple[str, str]]:
            if number >= len(lines):
                return []
            if command:
                head, space, rest = lines[number].partition(" ")
                return [("class:command", head), ("", space + rest)] if number == 0 else [("", lines[number])]
            return highlight(lines[number], names)

        return line


STYLE = Style.from_dict({
    "keyword": "bold ansiblue",
    "function": "ansicyan",
    "table": "bold",
    "string": "ansigreen",
    "number": "ansimagenta",
    "comment": "italic ansibrightblack",
    "pipe": "bold ansiyellow",
    "operator": "ansiyellow",
    "command": "bold ansimagenta",
    "prompt": "bold ansigreen",
    "continuation": "ansibrightblack",
})
