"""The built wheel carries the three import packages, the grammar and the prompts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from conftest import ROOT


def test_wheel_ships_grammar_and_prompts(tmp_path):
    # Build from a copy: a build writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("csvdsl-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "csvdsl/_grammar/csvdsl.lark" in names
    assert "csvdsl/_prompts/language_card.md" in names
    for package in ("csvdsl", "planner", "verifier"):
        assert f"{package}/__init__.py" in names
    # The grammar loads from the installed wheel, not from the source tree.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    code = "from csvdsl.grammar import grammar_text, GRAMMAR_FILE; import csvdsl; print(csvdsl.__file__); print(len(grammar_text()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": ""})
    assert done.returncode == 0, done.stderr
    location, size = done.stdout.split()
    assert location.startswith(str(target))
    assert int(size) == len((ROOT / "grammar" / "csvdsl.lark").read_text(encoding="utf-8"))
