"""The command line as a user runs it: a subprocess, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CSVDSL, ROOT, csvdsl

EXAMPLES = ROOT / "examples" / "data"


def test_run_json_answer_on_full_flights(flights_dir):
    program = ROOT / "tests" / "fixtures" / "acceptance" / "top_delayed_carriers.dsl"
    done = csvdsl("run", program, "--csv", flights_dir / "flights.csv", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"type": "list", "value": ["B6", "DL", "9E"]}


def test_unknown_column_exits_1_with_line_caret_and_hint(flights_dir):
    done = csvdsl("run", "-e", "flights | filter dep_dalay > 60", "--csv", flights_dir / "flights.csv")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "program:1:18" in done.stderr
    assert "1 | flights | filter dep_dalay > 60" in done.stderr
    assert "^^^^^^^^^" in done.stderr
    assert "did you mean `dep_delay`?" in done.stderr
    assert "Traceback" not in done.stderr


def test_json_error_object():
    done = csvdsl("run", "-e", "x = flights | filter dep_dalay > 60\nanswer x", "--csv", EXAMPLES / "flights.csv", "--format", "json")
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "unknown-column"
    assert (error["line"], error["column"]) == (1, 22)
    assert "dep_delay" in error["hint"] and "dep_dalay" in error["message"]


def test_integers_print_as_integers_and_tables_as_rows():
    done = csvdsl("run", "-e", 'a = airlines | filter carrier in ["AA", "UA"] | sort carrier\nanswer a', "--csv", EXAMPLES / "airlines.csv", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"type": "table", "value": {"columns": ["carrier", "name"], "rows": [["AA", "American Airlines Inc."], ["UA", "United Air Lines Inc."]]}}'
    done = csvdsl("run", "-e", "n = flights | aggregate n = count()\nanswer n.n", "--csv", EXAMPLES / "flights.csv", "--format", "json")
    assert done.stdout.strip() == '{"type": "number", "value": 3000}'


def test_text_tables_are_bounded():
    done = csvdsl("run", "-e", "flights | select carrier, flight", "--csv", EXAMPLES / "flights.csv")
    assert done.returncode == 0, done.stderr
    assert "... 2,980 more rows" in done.stdout
    assert len(done.stdout.splitlines()) < 30


def test_markdown_format_and_named_tables():
    done = csvdsl("run", "-e", "c = carriers | sort carrier | take 2\nanswer c", "--csv", f"carriers={EXAMPLES / 'airlines.csv'}", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == ["| carrier | name |", "| --- | --- |", "| 9E | Endeavor Air Inc. |"]


def test_program_from_stdin_and_file(tmp_path):
    done = csvdsl("run", "-", "--csv", EXAMPLES / "airlines.csv", stdin="n = airlines | aggregate n = count()\nanswer n.n\n")
    assert (done.returncode, done.stdout.strip()) == (0, "16")
    program = tmp_path / "q.dsl"
    program.write_text("# how many airlines\nn = airlines | aggregate n = count()\nanswer n.n\n")
    assert csvdsl("run", program, "--csv", EXAMPLES / "airlines.csv").stdout.strip() == "16"


@pytest.mark.parametrize("args", [
    ["run", "--csv", "x.csv"],                                  # no program
    ["run", "prog.dsl", "-e", "t", "--csv", "x.csv"],           # both
    ["run", "-e", "t", "--format", "yaml"],                    # bad choice
    ["run", "no-such-file.dsl"],                                # missing program file
    ["frobnicate"],                                             # unknown command
])
def test_usage_errors_exit_2(args):
    done = csvdsl(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "usage:" in done.stderr


def test_bad_csv_is_a_data_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    done = csvdsl("run", "-e", "bad | take 1", "--csv", bad)
    assert done.returncode == 1
    assert "bad.csv" in done.stderr and ":3" in done.stderr
    assert "Traceback" not in done.stderr
    done = csvdsl("run", "-e", "bad | take 1", "--csv", tmp_path / "missing.csv", "--format", "json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "csv-not-found"


def test_limit_error_in_json(tmp_path):
    big = tmp_path / "t.csv"
    big.write_text("k\n" + "1\n" * 2000)
    done = csvdsl("run", "-e", "t | join t on k | aggregate n = count()", "--csv", big, "--max-rows", "100000", "--format", "json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "too-many-rows"


def test_fmt_prints_canonical_source():
    done = csvdsl("fmt", "-e", "top=flights|filter  dep_delay>60   # late\n|sort dep_delay desc|take 3")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "# late\ntop = flights\n  | filter dep_delay > 60\n  | sort dep_delay desc\n  | take 3\n"


def test_check_reports_without_running():
    done = csvdsl("check", "-e", "a = flights | group carrier aggregate n = count()\nanswer a.carrier", "--csv", EXAMPLES / "flights.csv")
    assert done.returncode == 0, done.stderr
    assert "answer: list of string" in done.stdout


def test_demo_examples_run():
    for program in sorted((ROOT / "examples").glob("*.dsl")):
        done = csvdsl("run", program, *sum((["--csv", p] for p in sorted(EXAMPLES.glob("*.csv"))), []))
        assert done.returncode == 0, (program.name, done.stderr)
        assert done.stdout.strip()


def _root(program, csv):
    done = csvdsl("plan", "-e", program, "--csv", csv, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["root"]


def test_plan_json_roots_follow_meaning_not_spelling():
    csv = EXAMPLES / "flights.csv"
    a = _root('a = flights | filter origin == "JFK" and dep_delay > 60 | aggregate n = count()\nanswer a.n', csv)
    b = _root('b = flights | filter dep_delay > 60 | filter "JFK" == origin | aggregate n = count()\nanswer b.n', csv)
    c = _root('b = flights | filter dep_delay > 60 | filter "JFK" == origin | aggregate n = count(dep_delay)\nanswer b.n', csv)
    assert a == b != c


@pytest.mark.parametrize("fmt, expected", [
    ("text", "r1 := Filter[r0] dep_delay > 60"),
    ("english", "2. Keep the flights whose departure delay is above 60."),
    ("dot", "digraph plan {"),
])
def test_plan_formats(fmt, expected):
    done = csvdsl("plan", "-e", "x = flights | filter dep_delay > 60\nanswer x.flight", "--csv", EXAMPLES / "flights.csv", "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout


def test_self_join_on_full_flights_stops_fast_without_gigabytes(flights_dir):
    started = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *CSVDSL, "run", "-e", "flights | join flights on origin | aggregate n = count()",
                           "--csv", str(flights_dir / "flights.csv"), "--format", "json"],
                          capture_output=True, text=True, timeout=120) if Path("/usr/bin/time").exists() else \
        subprocess.run([*CSVDSL, "run", "-e", "flights | join flights on origin | aggregate n = count()",
                        "--csv", str(flights_dir / "flights.csv"), "--format", "json"], capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "too-many-rows" and "join" in error["message"] and error["hint"]
    if Path("/usr/bin/time").exists():
        peak_kb = int(done.stderr.strip().splitlines()[-1])
        assert peak_kb < 2_000_000, f"peak memory {peak_kb} KB"


def test_limit_flags_reach_the_engine():
    done = csvdsl("run", "-e", "flights | filter dep_delay" + " + 1" * 30 + " > 0", "--csv", EXAMPLES / "flights.csv",
                  "--max-depth", "10", "--format", "json")
    assert done.returncode == 1 and json.loads(done.stdout)["error"]["code"] == "expression-too-deep"


def test_verify_json_report(tmp_path, flights_dir):
    teacher, student = tmp_path / "t.dsl", tmp_path / "s.dsl"
    teacher.write_text('d = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"]\n'
                       "top = d | group carrier aggregate n = count() | sort n desc | take 3\nanswer top.carrier\n")
    student.write_text('a = flights | filter dep_delay > 60\nb = a | filter origin in ["LGA", "JFK"]\n'
                       "c = b | group carrier aggregate n = count() | sort n desc | take 3\nanswer c.carrier\n")
    done = csvdsl("verify", "--teacher", teacher, "--student", student, "--csv", flights_dir / "flights.csv", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["answer_match"] == 1.0 and report["exact_plan"] is True
    assert report["similarity"] == 1.0 and report["hook_coverage"] == 1.0 and report["error"] is None
    assert report["edit_script"].startswith("keep   t0 := Source[flights]")


def test_verify_reports_a_broken_student_and_exits_0(tmp_path):
    teacher, student = tmp_path / "t.dsl", tmp_path / "s.dsl"
    teacher.write_text("n = airlines | aggregate n = count()\nanswer n.n\n")
    student.write_text("n = airlines | aggregate n = count(\nanswer n.n\n")
    done = csvdsl("verify", "--teacher", teacher, "--student", student, "--csv", EXAMPLES / "airlines.csv", "--format", "json")
    assert done.returncode == 0, done.stderr
    error = json.loads(done.stdout)["error"]
    # The open parenthesis carries the statement on: the mistake shows where `answer` starts.
    assert error["phase"] == "syntax" and error["line"] == 2 and error["message"]
    text = csvdsl("verify", "--teacher", teacher, "--student", student, "--csv", EXAMPLES / "airlines.csv")
    assert text.returncode == 0 and "student error" in text.stdout


def test_verify_with_a_broken_teacher_is_an_error(tmp_path):
    teacher = tmp_path / "t.dsl"
    teacher.write_text("answer airlines.nope\n")
    done = csvdsl("verify", "--teacher", teacher, "--student", teacher, "--csv", EXAMPLES / "airlines.csv")
    assert done.returncode == 1 and "nope" in done.stderr


def test_floating_point_edge_cases_print_no_numpy_warning(tmp_path):
    """inf - inf is null by the language's rules: the answer prints, and nothing else reaches stderr."""
    data = tmp_path / "t.csv"
    data.write_text("x,y\n0.0,1\ninf,2\n-inf,3\n")
    done = csvdsl("run", "-e", "s = t | derive c = corr(x, x) over (), d = x - x, m = mean(x) over ()\nanswer s",
                  "--csv", f"t={data}")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "null" in done.stdout


INTERRUPTED_IMPORT = """
import builtins, runpy, sys
real, module = builtins.__import__, sys.argv[1]
def interrupt(name, *args, **kwargs):  # Ctrl-C arriving while this module loads
    if name == module:
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = interrupt
sys.argv = ["csvdsl", "solve", "nowhere", "--model", "m"]
runpy.run_module("csvdsl", run_name="__main__")
"""


@pytest.mark.parametrize("module", ["csvdsl.tables", "csvdsl.models.constrain"])  # importing csvdsl.cli; in _parser()
def test_ctrl_c_while_starting_exits_130_without_a_traceback(module):
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, module], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr


def test_a_worker_whose_parent_died_exits_quietly():
    import pickle
    import struct

    worker = subprocess.Popen([sys.executable, "-m", "csvdsl.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=ROOT)
    size = struct.unpack("!Q", worker.stdout.read(8))[0]
    assert worker.stdout.read(size) == b"ready"
    worker.stdout.close()  # the parent is gone: nobody reads the replies
    request = pickle.dumps((pickle.dumps(len), [pickle.dumps(("abc",))]))
    worker.stdin.write(struct.pack("!Q", len(request)) + request)
    worker.stdin.flush()
    assert worker.wait(timeout=60) == 0
    err = worker.stderr.read().decode()
    worker.stdin.close()
    worker.stderr.close()
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_printing_the_results_counts_in_the_timeout(tmp_path):
    # Once the program ran, its tables were rendered and joined outside --timeout: 12,000
    # `flights` statements printed for 20 s under --timeout 5.
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(f"{i},{i * 0.5},x{i}\n" for i in range(20_000)))
    started = time.monotonic()
    done = csvdsl("run", "-e", "\n".join(["t"] * 40), "--csv", path, "--rows", "1000000", "--timeout", "1")
    assert done.returncode == 1 and "[timeout]" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 10
