"""The grammars sent for constrained decoding accept every program the language's parser
accepts, and reject text that is not a program.

The Lark grammar is checked by llguidance itself (the engine behind vLLM's and OpenAI's Lark
support), matching bytes with a one-byte-per-token tokenizer. The GBNF grammar is checked
for syntax by llguidance's GBNF reader, and for meaning by a character-level Earley parser
built from it here (llama.cpp matches characters, with no lexer, which is what this
reproduces)."""

from __future__ import annotations

import re
from pathlib import Path

import llguidance
import pytest
from lark import Lark
from llguidance import LLMatcher, LLTokenizer, TokenizerWrapper

from csvdsl.errors import DslError, ParseError
from csvdsl.models.constrain import bnf, gbnf_grammar, grammar_for, lark_grammar
from csvdsl.parse import parse
from tests.test_docs import DOCUMENTS, fenced_blocks

ROOT = Path(__file__).resolve().parents[1]


class _ByteTokens:
    """A tokenizer whose tokens are the 256 bytes (and an end token)."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"<eos>"]

    def __call__(self, text):
        return list(text if isinstance(text, bytes) else text.encode())


TOKENIZER = LLTokenizer(TokenizerWrapper(_ByteTokens()))


def _valid_programs() -> list[tuple[str, str]]:
    programs = [(p.relative_to(ROOT).as_posix(), p.read_text()) for p in sorted(ROOT.glob("tests/fixtures/*/*.dsl"))]
    programs += [(block.id, block.text) for doc, path in DOCUMENTS.items()
                 for block in fenced_blocks(doc, path.read_text()) if block.kind == "csvdsl"]
    return [(name, text) for name, text in programs if _parses(text)]


def _parses(text: str) -> bool:
    """True unless the parser rejects the text's syntax (other DslErrors come after syntax)."""
    try:
        parse(text)
    except ParseError:
        return False
    except DslError:
        return True
    return True


VALID = _valid_programs()
NOT_PROGRAMS = [
    "x = = flights",
    "flights | filter",
    "answer 1 2",
    "flights | take -1",
    "flights | filterx > 1",
    "flights | dropa",  # a keyword glued to a name
    "flights | filter a > 1\n  and b",  # a line may not start with `and`
    "answer a = 1,",
    "flights | sort a descending",
    "x = flights |",
    "flights | filter a = 1 # comment",  # `=` where `==` is meant
    "flights\n| take 1\n|",
    "The answer is 42.",
    "```csvdsl\nflights\n```",
]


def _llg_accepts(grammar: str, text: str) -> bool:
    matcher = LLMatcher(TOKENIZER, grammar, log_level=0)
    return matcher.consume_tokens(list(text.encode())) and not matcher.is_error() and matcher.is_accepting()


@pytest.fixture(scope="module")
def llg_lark():
    grammar = llguidance.grammar_from("lark", lark_grammar())
    assert LLMatcher.validate_grammar(grammar, TOKENIZER) == ""
    return grammar


def _gbnf_to_earley(gbnf: str) -> Lark:
    """A character-level Earley parser with the meaning of a GBNF grammar."""
    token = re.compile(r'\s+|#[^\n]*|::=|"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|[a-z0-9-]+|[()|*+?]')
    lines = []
    for rule in re.split(r"\n(?=[a-z0-9-]+ ::=)", gbnf.split("\n", 1)[1].strip()):
        name, body = rule.split("::=", 1)
        out = []
        for part in token.findall(body):
            if part.isspace() or part.startswith("#"):
                continue
            if part.startswith('"'):
                out.append("" if part == '""' else _char_string(part))
            elif part.startswith("["):
                out.append("/" + part.replace("/", "\\/") + "/")
            elif re.fullmatch(r"[a-z0-9-]+", part):
                out.append(part.replace("-", "_"))
            else:
                out.append(part)
        text = " ".join(out)
        lines.append(f"{name.strip().replace('-', '_')}: {text}")
    return Lark("\n".join(lines), start="root", parser="earley", lexer="dynamic")


def _char_string(literal: str) -> str:
    # One terminal per character, as llama.cpp matches them.
    chars = re.findall(r'\\.|[^\\]', literal[1:-1])
    return "(" + " ".join('"' + c + '"' for c in chars) + ")"


@pytest.fixture(scope="module")
def earley_gbnf():
    return _gbnf_to_earley(gbnf_grammar())


def _earley_accepts(parser: Lark, text: str) -> bool:
    try:
        parser.parse(text)
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def accepts(llg_lark, earley_gbnf):
    """Per grammar: does it accept this text?"""
    return {"lark": lambda text: _llg_accepts(llg_lark, text), "gbnf": lambda text: _earley_accepts(earley_gbnf, text)}


@pytest.mark.parametrize("grammar", ["lark", "gbnf"])
@pytest.mark.parametrize("name,text", VALID, ids=[n for n, _ in VALID])
def test_grammar_accepts_every_program(accepts, grammar, name, text):
    assert accepts[grammar](text)


@pytest.mark.parametrize("grammar", ["lark", "gbnf"])
@pytest.mark.parametrize("text", NOT_PROGRAMS)
def test_grammar_rejects_text_that_is_not_a_program(accepts, grammar, text):
    assert not accepts[grammar](text)


def test_gbnf_grammar_is_valid_for_llguidance():
    # llguidance's reader follows llama.cpp's syntax (escapes, classes, rule names).
    grammar = llguidance.grammar_from("gbnf", gbnf_grammar())
    assert LLMatcher.validate_grammar(grammar, TOKENIZER) == ""


def test_grammars_are_derived_from_the_grammar_file():
    # Every keyword and terminal of the language appears; nothing is looked around.
    for terminal in bnf().terminals.values():
        if terminal.literal:
            assert f'"{terminal.literal}"' in lark_grammar() and f'"{terminal.literal}"' in gbnf_grammar()
    assert "(?=" not in lark_grammar() and "(?!" not in lark_grammar()
    assert grammar_for("off") is None
    assert grammar_for("vllm") == grammar_for("openai") == lark_grammar()
    assert grammar_for("llama") == gbnf_grammar()


@pytest.mark.parametrize("text,ok", [
    ("flights | take 3", True), ("flights | take3", False), ("flights|filter a>1 and b<(2)", True),
    ("flights | filterx > 1", False), ("x=flights|sort a desc,b", True), ("x = flights | sort a desc2", False),
])
def test_two_words_need_a_space_and_nothing_else_does(accepts, text, ok):
    assert accepts["lark"](text) is ok and accepts["gbnf"](text) is ok
