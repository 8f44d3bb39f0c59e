"""The grammar builds strictly, the transformer leaves no Lark tree behind, comments stay
with their statements, and names that clash with keywords are written with backticks."""

from __future__ import annotations

import dataclasses

import pytest
from lark import Token, Tree

from csvdsl import ast
from csvdsl.errors import ParseError, quote_name
from csvdsl.format import format_program
from csvdsl.grammar import build_parser, is_plain_name, keywords
from csvdsl.parse import parse
from test_fixtures import FIXTURES, load_fixture


def test_grammar_builds_in_strict_mode():
    # strict: no shift/reduce conflicts and no colliding terminals
    build_parser(strict=True)


def test_the_analysed_grammar_is_cached_in_the_users_cache_folder(tmp_path, monkeypatch):
    """The parser's tables are written once to the user's cache folder and loaded from there; a
    damaged file is rebuilt, and a folder that cannot be made means no cache, not an error."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    program = "c = flights | filter dep_delay > 60 | group carrier aggregate n = count()  # late\n"
    want = parse(program)
    cached = build_parser()
    (path,) = (tmp_path / "cache" / "csvdsl").glob("grammar-*.lark")
    assert path.stat().st_size > 0
    path.write_bytes(b"damaged")
    assert build_parser().parse(program) == cached.parse(program)
    assert path.read_bytes() != b"damaged"  # rewritten
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert build_parser().parse(program) == cached.parse(program)
    assert parse(program) == want


def _no_lark_objects(node, path="program"):
    assert not isinstance(node, (Tree, Token)), f"{path} is a Lark {type(node).__name__}"
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            _no_lark_objects(getattr(node, f.name), f"{path}.{f.name}")
    elif isinstance(node, (tuple, list)):
        for i, item in enumerate(node):
            _no_lark_objects(item, f"{path}[{i}]")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_no_lark_tree_survives(path):
    try:
        program = parse(load_fixture(path)["program"])
    except ParseError:
        return  # syntax-error fixtures have no AST
    _no_lark_objects(program)


def test_ast_nodes_are_immutable_and_hashable():
    program = parse("a = t | filter x > 1 | derive y = x * 2\nanswer a.y")
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.statements[0].name = "b"
    assert hash(program) == hash(parse("a = t | filter x > 1 | derive y = x * 2\nanswer a.y"))


def test_spans_do_not_take_part_in_equality():
    assert parse("t | filter x > 1") == parse("t   |   filter   x>1")


def test_continuation_lines_blank_lines_and_comments():
    text = """# what we want
top = t
  # first the filter
  | filter x > 1   # keep big ones

  | take 3
answer top.x  # done
# the end
"""
    program = parse(text)
    binding, answer = program.statements
    assert binding.pipeline.transforms == (ast.Filter(ast.Binary(">", ast.Column("x"), ast.Literal(1))), ast.Take(3))
    assert binding.comments == ("what we want", "first the filter", "keep big ones")
    assert answer.comments == ("done",)
    assert program.trailing_comments == ("the end",)
    assert parse(format_program(program)) == program


def test_hash_inside_a_string_is_not_a_comment():
    program = parse('t | filter name == "#1"')
    assert program.statements[0].pipeline.transforms[0].predicate.right == ast.Literal("#1")
    assert program.statements[0].comments == ()


def test_keywords_come_from_the_grammar():
    words = keywords()
    assert {"filter", "aggregate", "join", "answer", "and", "desc", "left", "null", "case"} <= words
    assert "mean" not in words  # functions are names, not keywords


@pytest.mark.parametrize("name, plain", [("dep_delay", True), ("Unit Price", False), ("desc", False), ("2x", False), ("a`b", False)])
def test_names_are_quoted_when_they_must_be(name, plain):
    assert is_plain_name(name) is plain
    program = parse(f"t | select {quote_name(name)}")
    assert program.statements[0].pipeline.transforms[0].items[0].name == name


@pytest.mark.parametrize("text, expected", [
    ("answer 1 - 2 - 3", "answer 1 - 2 - 3"),
    ("answer 1 - (2 - 3)", "answer 1 - (2 - 3)"),
    ("answer (1 + 2) * 3", "answer (1 + 2) * 3"),
    ("answer -(1 + 2)", "answer -(1 + 2)"),
    ("answer not (a.x > 1 and a.y < 2) or a.z", "answer not (a.x > 1 and a.y < 2) or a.z"),
    ("answer (a.x or a.y) and a.z", "answer (a.x or a.y) and a.z"),
    ("answer a.x  ==  'it''s'", None),
    ("t | sort x asc", "t | sort x"),
    ("t | join inner u on k", "t | join u on k"),
    ("t | join u on k == k", "t | join u on k"),
    ("t | aggregate n = COUNT(*)", "t | aggregate n = count()"),
    ("t | derive r = rank(x asc) over (g)", "t | derive r = rank(x) over g"),
    ("answer 'a\\\"b'", 'answer "a\\"b"'),
    ("answer 1.5e3", "answer 1500.0"),
])
def test_canonical_formatting(text, expected):
    if expected is None:
        with pytest.raises(ParseError):
            parse(text)
        return
    assert format_program(parse(text)).strip() == expected
    assert parse(expected) == parse(text)


def test_no_home_folder_means_no_grammar_cache(monkeypatch):
    """A container user with no home folder still parses; a relative XDG_CACHE_HOME is ignored."""
    from csvdsl import grammar

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(grammar.Path, "home", staticmethod(no_home))
    assert grammar.cache_file() is False
    assert build_parser().parse("answer 1\n")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert grammar.cache_file() is False
