"""The Python examples in docs/plans.md, docs/verifier.md, docs/generate.md, docs/models.md, docs/architecture.md, docs/import-eval.md and the README run, in order, in one namespace, and
print exactly the ``output`` block that follows each of them."""

from __future__ import annotations

import contextlib
import io
import os

import pytest
from test_docs import ROOT, fenced_blocks

PAGES = [ROOT / "docs" / "plans.md", ROOT / "docs" / "verifier.md", ROOT / "docs" / "generate.md", ROOT / "docs" / "models.md",
         ROOT / "docs" / "architecture.md", ROOT / "docs" / "import-eval.md",
         ROOT / "README.md"]


def python_examples(path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks = fenced_blocks(path.name, text)
    examples = []
    for index, block in enumerate(blocks):
        if block.kind != "python":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        between = lines[block.end : following.line - 1] if following else []
        output = following.text if following and following.kind == "output" and not any(l.strip() for l in between) else None
        examples.append((block.line, block.text, output))
    return examples


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_python_examples_run_and_print_what_the_page_shows(path):
    examples = python_examples(path)
    assert examples, f"{path.name} has no python examples"
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(ROOT)  # the examples name files relative to the repository
    try:
        for line, code, expected in examples:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"{path.name}:{line}", "exec"), namespace)
            if expected is not None:
                assert printed.getvalue().rstrip() == expected.rstrip(), f"{path.name}:{line}"
    finally:
        os.chdir(cwd)
