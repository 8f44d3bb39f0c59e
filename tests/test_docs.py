"""The language reference (docs/language.md) and the model's language card
(prompts/language_card.md) say only what the implementation does: every example in them
runs, and prints exactly what they show.

The example convention, in both documents:

- a fenced block with info string ``csvdsl`` is a program that runs without error against
  the example tables flights, airlines, planes and penguins (``examples/data``);
- a block ``csvdsl-error`` is a program that fails with a ``DslError``;
- an ``output`` block right after one of those (blank lines allowed in between) is exactly
  what ``csvdsl run`` prints for it: the text output, or the rendered error;
- ``text`` blocks are syntax skeletons and shell sessions, not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from csvdsl import ast
from csvdsl.errors import DslError
from csvdsl.parse import parse
from csvdsl.program import run_program
from csvdsl.render import render_text
from csvdsl.tables import Catalog
from planner.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = {
    "language.md": ROOT / "docs" / "language.md",
    "language_card.md": ROOT / "prompts" / "language_card.md",
}
DATA = ROOT / "examples" / "data"
TABLES = ("flights", "airlines", "planes", "penguins")
CARD_WORD_LIMIT = 2000

PROGRAM_KINDS = ("csvdsl", "csvdsl-error")
BLOCK_KINDS = frozenset(PROGRAM_KINDS + ("output", "text"))
TRANSFORMS = {
    "filter": ast.Filter,
    "select": ast.Select,
    "derive": ast.Derive,
    "drop": ast.Drop,
    "rename": ast.Rename,
    "group": ast.Group,
    "aggregate": ast.Aggregate,
    "sort": ast.Sort,
    "take": ast.Take,
    "distinct": ast.Distinct,
    "join": ast.Join,
    "cross": ast.CrossJoin,
    "split": ast.Split,
}
# The fewest examples each document must have, so that a parsing slip cannot leave the
# parametrized tests below with nothing to check.
MIN_PROGRAMS = {"language.md": 60, "language_card.md": 12}

_OPENING = re.compile(r"^```(\S*)[ \t]*$")
_CLOSING = re.compile(r"^```[ \t]*$")


@dataclass(frozen=True)
class Block:
    """A fenced block: the document, the line of its opening fence, its info string and text;
    for programs, the ``output`` block that follows it (None if there is none)."""

    doc: str
    line: int
    kind: str
    text: str
    end: int  # line of the closing fence
    output: str | None = None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def fenced_blocks(doc: str, text: str) -> list[Block]:
    """Every fenced block of a markdown text, in order."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = _OPENING.match(lines[i])
        if not opening:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not _CLOSING.match(lines[j]):
            j += 1
        if j == len(lines):
            raise AssertionError(f"{doc}:{i + 1}: a fenced block is never closed")
        blocks.append(Block(doc, i + 1, opening.group(1), "\n".join(lines[i + 1 : j]), j + 1))
        i = j + 1
    return blocks


def with_outputs(blocks: list[Block], text: str) -> list[Block]:
    """Attach to each program block the ``output`` block right after it (blank lines allowed)."""
    lines = text.splitlines()
    attached = []
    for index, block in enumerate(blocks):
        if block.kind in PROGRAM_KINDS and index + 1 < len(blocks):
            following = blocks[index + 1]
            between = lines[block.end : following.line - 1]
            if following.kind == "output" and all(not line.strip() for line in between):
                block = Block(block.doc, block.line, block.kind, block.text, block.end, following.text)
        attached.append(block)
    return attached


def document_blocks(doc: str) -> list[Block]:
    path = DOCUMENTS[doc]
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return with_outputs(fenced_blocks(doc, text), text)


ALL_BLOCKS = [block for doc in DOCUMENTS for block in document_blocks(doc)]
PROGRAMS = [block for block in ALL_BLOCKS if block.kind in PROGRAM_KINDS]
RUNNABLE = [block for block in PROGRAMS if block.kind == "csvdsl"]
FAILING = [block for block in PROGRAMS if block.kind == "csvdsl-error"]
EXAMPLE_FILES = sorted((ROOT / "examples").glob("*.dsl"))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The four example tables, read once for the whole module."""
    return Catalog.from_specs([str(DATA / f"{name}.csv") for name in TABLES])


def text_output(program: str, catalog: Catalog) -> str:
    """What ``csvdsl run -e PROGRAM`` prints in its default text format."""
    run = run_program(program, catalog)
    return "\n\n".join(render_text(value) for _, value in run.execution.outputs)


def _read(doc: str) -> str:
    path = DOCUMENTS[doc]
    assert path.exists(), f"{path.relative_to(ROOT)} is missing"
    return path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the examples


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_example_runs(block: Block, catalog: Catalog):
    try:
        actual = text_output(block.text, catalog)
    except DslError as error:
        pytest.fail(f"{block.id}: the example fails:\n{error.render()}")
    if block.output is not None:
        assert actual.rstrip() == block.output.rstrip(), f"{block.id}: the output block differs"


@pytest.mark.parametrize("block", FAILING, ids=lambda b: b.id)
def test_error_example_fails(block: Block, catalog: Catalog):
    try:
        actual = text_output(block.text, catalog)
    except DslError as error:
        if block.output is not None:
            assert error.render().rstrip() == block.output.rstrip(), f"{block.id}: the error differs"
        return
    pytest.fail(f"{block.id}: a csvdsl-error example ran without error, printing:\n{actual}")


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_enough_examples(doc: str):
    _read(doc)
    programs = [b for b in PROGRAMS if b.doc == doc]
    assert len(programs) >= MIN_PROGRAMS[doc], f"{doc} has only {len(programs)} examples"
    shown = [b for b in programs if b.output is not None]
    assert len(shown) * 2 >= len(programs), f"{doc}: most examples should show their output"


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_blocks_follow_the_convention(doc: str):
    _read(doc)
    blocks = [b for b in ALL_BLOCKS if b.doc == doc]
    unknown = [f"{b.id} ({b.kind or 'no info string'})" for b in blocks if b.kind not in BLOCK_KINDS]
    assert not unknown, f"blocks marked other than {sorted(BLOCK_KINDS)}: {unknown}"
    # An output block must belong to the program right before it.
    owned = {(b.doc, b.end) for b in blocks if b.kind in PROGRAM_KINDS and b.output is not None}
    previous_end = {b.line: blocks[i - 1].end if i else None for i, b in enumerate(blocks)}
    orphans = [b.id for b in blocks if b.kind == "output" and (b.doc, previous_end[b.line]) not in owned]
    assert not orphans, f"output blocks that follow no csvdsl or csvdsl-error block: {orphans}"


# ---------------------------------------------------------------- coverage


def test_card_is_short():
    words = len(_read("language_card.md").split())
    assert words < CARD_WORD_LIMIT, f"the language card has {words} words; the limit is {CARD_WORD_LIMIT}"


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_function_is_documented(doc: str):
    text = _read(doc)
    missing = [name for name in FUNCTIONS if not re.search(rf"(?<![\w.]){re.escape(name)}\(", text)]
    assert not missing, f"{doc} never shows these functions as calls: {missing}"


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_transform_is_documented(doc: str):
    text = _read(doc)
    missing = [word for word in TRANSFORMS if not re.search(rf"\b{word}\b", text)]
    assert not missing, f"{doc} never mentions these transforms: {missing}"


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_transform_has_a_runnable_example(doc: str):
    _read(doc)
    used = set()
    for block in RUNNABLE:
        if block.doc != doc:
            continue
        try:
            statements = parse(block.text).statements
        except DslError:
            continue  # reported by test_example_runs
        for statement in statements:
            pipeline = getattr(statement, "pipeline", None)
            if pipeline is not None:
                used.update(type(transform) for transform in pipeline.transforms)
    missing = [word for word, node in TRANSFORMS.items() if node not in used]
    assert not missing, f"{doc} has no runnable example of: {missing}"


# ---------------------------------------------------------------- example programs


def test_example_programs_exist():
    assert 3 <= len(EXAMPLE_FILES) <= 5, [p.name for p in EXAMPLE_FILES]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_program_runs(path: Path, catalog: Catalog):
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), f"{path.name} should start with a comment saying what it asks"
    try:
        run = run_program(text, catalog, file=str(path))
    except DslError as error:
        pytest.fail(error.render())
    assert run.answer is not None, f"{path.name} has no answer"
