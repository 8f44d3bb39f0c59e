"""Grammars for constrained decoding, derived from ``grammar/csvdsl.lark`` (never written by
hand): a flat Lark grammar in the dialect of llguidance (what vLLM's guidance backend and
OpenAI's custom tools accept) and a GBNF grammar for llama.cpp.

Both come from the compiled LALR grammar: its BNF rules (optional parts and repetitions
already expanded) and its terminals. The engines behind them have no lookaround, so two
rewrites apply, each found from the grammar rather than named:

- an ignored terminal that ends in a lookahead for a literal (the line continuation before
  ``|``) becomes an optional prefix of that literal's terminal;
- a negative lookahead that keeps a keyword from being a prefix of a name is dropped, and
  the blanks the lexer skipped are written out instead: required between two symbols that
  could both touch a letter or digit (``take 3``, never ``take3``), allowed elsewhere.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass

try:  # the regex parser moved in Python 3.11; both names exist there
    from re import _constants as sre_c
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as sre_c
    import sre_parse

from csvdsl.grammar import build_parser

WORD = frozenset(string.ascii_letters + string.digits + "_")
MODES = ("off", "vllm", "openai", "llama")


@dataclass(frozen=True)
class Terminal:
    name: str
    regex: str  # Python/Rust-compatible, no lookaround
    literal: str | None  # the text, when the terminal is a fixed string


@dataclass(frozen=True)
class Bnf:
    """The grammar as flat BNF: rules (name -> alternatives of symbol names), terminals, and
    the ignored terminals split into blanks and line comments."""

    rules: dict[str, list[list[str]]]
    terminals: dict[str, Terminal]
    blanks: tuple[str, ...]
    comments: tuple[str, ...]


# --- regular expressions, through Python's own regex parser --------------------------------

def _parse(regex: str):
    return sre_parse.parse(regex)


def _class_text(items, gbnf: bool = False) -> str:
    out, negate, dash = [], False, ""
    for op, av in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL and gbnf and chr(av) == "-":
            dash = "-"  # GBNF cannot escape "-": it goes last, where it is literal
        elif op is sre_c.LITERAL:
            out.append(_class_char(chr(av)))
        elif op is sre_c.RANGE:
            out.append(f"{_class_char(chr(av[0]))}-{_class_char(chr(av[1]))}")
        elif op is sre_c.CATEGORY:
            out.append({sre_c.CATEGORY_DIGIT: "0-9", sre_c.CATEGORY_SPACE: r" \t\n\r\f\v",
                        sre_c.CATEGORY_WORD: "A-Za-z0-9_"}[av])
        else:
            raise ValueError(f"unsupported character class item {op}")
    return "[" + ("^" if negate else "") + "".join(out) + dash + "]"


_CONTROL = {"\n": r"\n", "\r": r"\r", "\t": r"\t"}  # written as escapes in every target


def _class_char(c: str) -> str:
    return (_CONTROL | {"\\": "\\\\", "]": r"\]", "[": r"\[", "-": r"\-"}).get(c, c)


def _repeat(body: str, low: int, high) -> str:
    if (low, high) == (0, sre_c.MAXREPEAT):
        return body + "*"
    if (low, high) == (1, sre_c.MAXREPEAT):
        return body + "+"
    if (low, high) == (0, 1):
        return body + "?"
    return body + ("{%d,}" % low if high == sre_c.MAXREPEAT else "{%d,%d}" % (low, high))


def _regex(items, gbnf: bool = False) -> str:
    """Re-emit a parsed regex without lookarounds, as a regex or as a GBNF expression."""
    parts = []
    for op, av in items:
        part = _regex_item(op, av, gbnf)
        if gbnf and op is sre_c.LITERAL and parts and parts[-1][0] is sre_c.LITERAL:
            part = parts.pop()[1][:-1] + part[1:]  # "a" "s" "c" -> "asc"
        if part:
            parts.append((op, part))
    return (" " if gbnf else "").join(p for _, p in parts)


def _regex_item(op, av, gbnf: bool) -> str:
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return ""
    if op is sre_c.LITERAL:
        c = chr(av)
        if gbnf:
            return _gbnf_string(c)
        return _CONTROL.get(c) or re.escape(c)
    if op is sre_c.NOT_LITERAL:
        return "[^" + _class_char(chr(av)) + "]"
    if op is sre_c.ANY:
        return r"[^\n]"
    if op is sre_c.IN:
        return _class_text(av, gbnf)
    if op is sre_c.SUBPATTERN:
        return "(" + ("" if gbnf else "?:") + _regex(av[3], gbnf) + ")"
    if op is sre_c.BRANCH:
        joiner = " | " if gbnf else "|"
        return "(" + ("" if gbnf else "?:") + joiner.join(_regex(b, gbnf) for b in av[1]) + ")"
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        low, high, sub = av
        body = _regex(sub, gbnf)
        if len(sub) != 1 or sub[0][0] not in (sre_c.LITERAL, sre_c.IN, sre_c.SUBPATTERN, sre_c.NOT_LITERAL):
            body = "(" + ("" if gbnf else "?:") + body + ")"
        return _repeat(body, low, high)
    raise ValueError(f"unsupported regex construct {op}")


def _edge(items, last: bool, chars: frozenset = WORD) -> tuple[bool, bool]:
    """(can a match start -- or end, when ``last`` -- with one of ``chars``, can it be empty)."""
    sequence = list(items)[::-1] if last else list(items)
    word = False
    for op, av in sequence:
        if op in (sre_c.ASSERT, sre_c.ASSERT_NOT, sre_c.AT):
            continue
        if op is sre_c.LITERAL:
            return word or chr(av) in chars, False
        if op in (sre_c.NOT_LITERAL, sre_c.ANY):
            return True, False
        if op is sre_c.IN:
            pattern = re.compile(_class_text(av))
            return word or any(pattern.fullmatch(c) for c in chars), False
        if op is sre_c.SUBPATTERN:
            w, empty = _edge(av[3], last, chars)
        elif op is sre_c.BRANCH:
            edges = [_edge(b, last, chars) for b in av[1]]
            w, empty = any(e[0] for e in edges), any(e[1] for e in edges)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            w, empty = _edge(av[2], last, chars)
            empty = empty or av[0] == 0
        else:
            raise ValueError(f"unsupported regex construct {op}")
        word = word or w
        if not empty:
            return word, False
    return word, True


# --- the grammar as flat BNF -----------------------------------------------------------------

def _lookahead_literal(items) -> tuple[list, str] | None:
    """For a regex ending in ``(?=<literal>)``: (the regex before it, the literal)."""
    if items and items[-1][0] is sre_c.ASSERT and items[-1][1][0] == 1:
        inner = items[-1][1][1]
        if all(op is sre_c.LITERAL for op, _ in inner):
            return list(items)[:-1], "".join(chr(av) for _, av in inner)
    return None


@functools.cache
def bnf() -> Bnf:
    """The compiled grammar, lookarounds rewritten away (see the module docstring)."""
    parser = build_parser()
    ignored = set(parser.lexer_conf.ignore)  # a parser loaded from the cache file has no ignore_tokens
    terminals: dict[str, Terminal] = {}
    prefixes: dict[str, str] = {}  # literal -> regex of an optional prefix
    blanks, comments = [], []
    for t in parser.terminals:
        if t.pattern.type == "str":
            terminals[t.name] = Terminal(t.name, re.escape(t.pattern.value), t.pattern.value)
            continue
        items = _parse(t.pattern.value)
        ahead = _lookahead_literal(items)
        if t.name in ignored and ahead:
            prefixes[ahead[1]] = _regex(ahead[0])
            continue
        regex = _regex(items)
        if t.name in ignored:
            (blanks if re.fullmatch(regex, " \t") else comments).append(t.name)
        terminals[t.name] = Terminal(t.name, regex, None)
    for name, term in list(terminals.items()):
        if term.literal in prefixes:
            terminals[name] = Terminal(name, f"(?:{prefixes[term.literal]})?{term.regex}", None)
    rules: dict[str, list[list[str]]] = {}
    for rule in parser.rules:
        rules.setdefault(rule.origin.name, []).append([s.name for s in rule.expansion])
    return Bnf(rules, terminals, tuple(blanks), tuple(comments))


WS, SP, EOL = "<ws>", "<sp>", "<eol>"  # blanks allowed, blanks required, an optional comment


@functools.cache
def spaced_rules() -> dict[str, list[list[str]]]:
    """The rules with the blanks the lexer used to skip made explicit: required between two
    symbols that could both touch a letter or digit (``take 3``, not ``take3``), allowed
    elsewhere; a comment may close a line before a newline and end the program. ``start``
    wraps the grammar's own start rule, renamed ``program``."""
    grammar = bnf()
    edges, lines = _edges(), _newline_edges()
    newline = {n for n, t in grammar.terminals.items() if _starts_with_newline(_parse(t.regex))}
    rules = {"start": [[WS, "program", WS, EOL]]}
    for name, alternatives in grammar.rules.items():
        spaced = []
        for alt in alternatives:
            out = []
            for i, symbol in enumerate(alt):
                if i:
                    # A rule that may end (or start) with a line break, as a repetition with an
                    # optional newline does, cannot require a blank at that edge: the newline
                    # is the separator there, and a matcher has no lookahead to tell.
                    word_edge = edges[alt[i - 1]][1] and edges[symbol][0]
                    out.append(SP if word_edge and not (lines[alt[i - 1]][1] or lines[symbol][0]) else WS)
                if symbol in newline:
                    out.append(EOL)
                out.append(symbol)
            spaced.append(out)
        rules["program" if name == "start" else name] = spaced
    return rules


def _names(style: str) -> dict[str, str]:
    """Symbol names legal in the target: Lark rules lower case, terminals upper case; GBNF
    lower case with dashes, terminals prefixed ``t-``."""
    grammar = bnf()
    taken = {"root", "ws", "sp", "eol", "BLANK", "COMMENT"}
    out = {"start": "root" if style == "gbnf" else "start"}
    for name in list(spaced_rules()) + [n for n in grammar.terminals if n not in grammar.blanks + grammar.comments]:
        if name in out:
            continue
        rule = name in spaced_rules()
        base = (name.strip("_") or "x").lower() if rule else (name.strip("_") or "X").upper()
        if style == "gbnf":
            base = base.lower().replace("_", "-") if rule else "t-" + base.lower().replace("_", "-")
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}{'-' if style == 'gbnf' else '_'}{n}", n + 1
        taken.add(candidate)
        out[name] = candidate
    return out


def _render(style: str, rule_line, terminal_line, specials: dict[str, str]) -> list[str]:
    names = _names(style)
    names.update(specials)
    lines = [rule_line(names[name], " | ".join(" ".join(names[s] for s in alt) or '""' for alt in alternatives))
             for name, alternatives in spaced_rules().items()]
    grammar = bnf()
    for name, term in grammar.terminals.items():
        if name not in grammar.blanks + grammar.comments:
            lines.append(terminal_line(names[name], term))
    return lines


@functools.cache
def lark_grammar() -> str:
    """The grammar for llguidance (vLLM ``structured_outputs``, OpenAI custom tools)."""
    grammar = bnf()
    blank, comment = _blank_unit(grammar, gbnf=False), _comment(grammar, gbnf=False)

    def terminal(name, term):
        return f"{name}: " + (_lark_string(term.literal) if term.literal is not None else _slashed(term.regex))

    lines = _render("lark", lambda name, body: f"{name}: {body}", terminal,
                    {WS: "BLANK?", SP: "BLANK", EOL: "COMMENT?"})
    lines += [f"BLANK: {_slashed(f'(?:{blank})+')}", f"COMMENT: {_slashed(comment)}"]
    return "// Derived from grammar/csvdsl.lark by csvdsl.models.constrain; do not edit.\n" + "\n".join(lines) + "\n"


@functools.cache
def gbnf_grammar() -> str:
    """The grammar for llama.cpp (GBNF matches characters; there is no lexer)."""
    grammar = bnf()
    blank, comment = _blank_unit(grammar, gbnf=True), _comment(grammar, gbnf=True)

    def terminal(name, term):
        body = _gbnf_string(term.literal) if term.literal is not None else _regex(_parse(term.regex), gbnf=True)
        return f"{name} ::= {body}"

    lines = _render("gbnf", lambda name, body: f"{name} ::= {body}", terminal,
                    {WS: "ws", SP: "sp", EOL: "eol?"})
    lines += [f"ws ::= ({blank})*", f"sp ::= ({blank})+", f"eol ::= {comment}"]
    return "# Derived from grammar/csvdsl.lark by csvdsl.models.constrain; do not edit.\n" + "\n".join(lines) + "\n"


def _slashed(regex: str) -> str:
    return "/" + regex.replace("/", "\\/") + "/"


def _lark_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gbnf_string(text: str) -> str:
    escapes = _CONTROL | {'"': r"\"", "\\": "\\\\"}
    return '"' + "".join(escapes.get(c, c) for c in text) + '"'


def _blank_unit(grammar: Bnf, gbnf: bool) -> str:
    """One blank character (``[ \\t]`` of ``[ \\t]+``): a repeated repetition would make a
    matcher explore every split of a run of spaces."""
    units = []
    for name in grammar.blanks:
        items = _parse(grammar.terminals[name].regex)
        if len(items) == 1 and items[0][0] is sre_c.MAX_REPEAT and items[0][1][0] == 1:
            items = items[0][1][2]
        units.append(_regex(items, gbnf))
    return (" | " if gbnf else "|").join(units) or ('" "' if gbnf else " ")


def _comment(grammar: Bnf, gbnf: bool) -> str:
    return (" | " if gbnf else "|").join(_regex(_parse(grammar.terminals[c].regex), gbnf) for c in grammar.comments) \
        or ('"#"' if gbnf else "#")


@functools.cache
def _edges() -> dict[str, tuple[bool, bool, bool]]:
    """Per symbol: (may start with a word character, may end with one, may be empty)."""
    grammar = bnf()
    edges = {}
    comments = [f"(?:{grammar.terminals[c].regex})?" for c in grammar.comments]
    for name, term in grammar.terminals.items():
        regex = term.regex
        for comment in comments:  # a comment inside a newline ends the line: not a word edge
            regex = regex.replace(comment, "")
        items = _parse(regex)
        first, empty = _edge(items, False)
        edges[name] = (first, _edge(items, True)[0], empty)
    for name in grammar.rules:
        edges[name] = (False, False, False)
    changed = True
    while changed:  # a fixed point over the rules
        changed = False
        for name, alternatives in grammar.rules.items():
            first = last = empty = False
            for alt in alternatives:
                first |= _sequence_edge(alt, edges, 0)
                last |= _sequence_edge(alt[::-1], edges, 1)
                empty |= all(edges[s][2] for s in alt)
            if (first, last, empty) != edges[name]:
                edges[name], changed = (first, last, empty), True
    return edges


@functools.cache
def _newline_edges() -> dict[str, tuple[bool, bool, bool]]:
    """Per symbol: (may start with a line break, may end with one, may be empty)."""
    grammar = bnf()
    edges = {}
    for name, term in grammar.terminals.items():
        items = _parse(term.regex)
        edges[name] = (_starts_with_newline(items), _edge(items, True, frozenset("\r\n"))[0], _edge(items, False)[1])
    for name in grammar.rules:
        edges[name] = (False, False, False)
    changed = True
    while changed:  # a fixed point over the rules, as _edges
        changed = False
        for name, alternatives in grammar.rules.items():
            first = any(_sequence_edge(alt, edges, 0) for alt in alternatives)
            last = any(_sequence_edge(alt[::-1], edges, 1) for alt in alternatives)
            empty = any(all(edges[s][2] for s in alt) for alt in alternatives)
            if (first, last, empty) != edges[name]:
                edges[name], changed = (first, last, empty), True
    return edges


def _sequence_edge(symbols, edges, which: int) -> bool:
    for s in symbols:
        if edges[s][which]:
            return True
        if not edges[s][2]:
            return False
    return False


def _starts_with_newline(items) -> bool:
    return _edge(items, False, frozenset("\r\n"))[0]


def grammar_for(mode: str) -> str | None:
    """The grammar text a ``--constrain`` mode sends (None for ``off``)."""
    builders = {"vllm": lark_grammar, "openai": lark_grammar, "llama": gbnf_grammar}
    return builders[mode]() if mode in builders else None
