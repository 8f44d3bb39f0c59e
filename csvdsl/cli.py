"""The ``csvdsl`` command line. Exit status: 0 success, 1 a program or data error, 2 a usage error."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

try:  # the libraries take a moment to load: Ctrl-C meanwhile exits 130, without a traceback
    from csvdsl.cli_engine import add_engine_args, backend_of, engine_for, engine_notes, plan_sql_command
    from csvdsl.errors import DslError, internal_error
    from csvdsl.format import format_program
    from csvdsl.limits import Deadline, Limits, hard_stop, limits_from_args, seconds_flag
    from csvdsl.parse import parse
    from csvdsl.program import plan_program, run_program, too_deep
    from csvdsl.render import RENDERERS, dumps, terminal_safe, write_json
    from csvdsl.tables import Catalog
except KeyboardInterrupt:
    sys.exit(130)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command line that cannot be acted on (exit status 2)."""


def main(argv: list[str] | None = None) -> int:
    try:
        parser = _parser()
        args, extra = parser.parse_known_args(argv)
    except KeyboardInterrupt:
        return 130
    if extra:
        if getattr(args, "name", None) != "ask" or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.items += extra  # ask takes its options anywhere: `ask CSV --model M "QUESTION"`
    try:
        with backend_of(args):
            return args.command(args)
    except UsageError as error:
        parser.error(str(error))  # exits with status 2
    except DslError as error:
        _report(error, getattr(args, "format", "text"))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `csvdsl plan ... | head`: the reader left; that is not an error
        sys.stderr.close()
        return EXIT_OK
    except RecursionError:
        _report(too_deep(), getattr(args, "format", "text"))
        return EXIT_ERROR
    except Exception as error:  # never a traceback: report it as an internal error
        _report(internal_error(error), getattr(args, "format", "text"))
        return EXIT_ERROR


def _report(error: DslError, fmt: str) -> None:
    if fmt == "json":
        print(dumps({"error": error.to_dict()}))
    else:
        print(terminal_safe(error.render()), file=sys.stderr)


def _program_text(args) -> tuple[str, str | None]:
    if args.expression is not None and args.program is not None:
        raise UsageError("give a PROGRAM file or -e TEXT, not both")
    if args.expression is not None:
        return args.expression, None
    if args.program is None:
        raise UsageError("give a PROGRAM file (or - for standard input) or -e TEXT")
    if args.program == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(args.program)
    if not path.is_file():
        raise UsageError(f"no program file {args.program}")
    try:
        return path.read_text(encoding="utf-8-sig"), args.program
    except UnicodeDecodeError as error:
        raise UsageError(f"{args.program} is not UTF-8 text: {error}") from None


def _run(args) -> int:
    text, file = _program_text(args)
    catalog = Catalog.from_specs(args.csv)
    limits = limits_from_args(args)
    deadline = Deadline(limits.timeout)  # printing the results counts in the program's time too
    # Only what is printed is kept: each other result is freed after its last use (hard: even one long pandas call stops).
    run = run_program(text, catalog, limits, file, engine=engine_for(catalog, limits), hard=True, keep=())
    engine_notes(args, run)
    outputs = run.execution.outputs
    with hard_stop(deadline):
        if args.format == "json":
            if not outputs:
                raise DslError("no-output", "the program has no `answer` and shows nothing",
                               hint="end it with `answer NAME` or `answer NAME.column`").with_source(text, file)
            answers = [value for output, value in outputs if output.kind == "answer"]
            # Streamed a chunk of rows at a time, at most --max-rows of them (the cut is marked).
            write_json(answers[-1] if answers else outputs[-1][1], sys.stdout, limits.max_rows)
            print()
            return EXIT_OK
        for position, (_, value) in enumerate(outputs):  # one at a time: never all the text at once
            deadline.check("while printing the results")
            print(("\n" if position else "") + RENDERERS[args.format](value, args.rows))
    return EXIT_OK


def _check(args) -> int:
    text, file = _program_text(args)
    checked, plan = plan_program(text, Catalog.from_specs(args.csv), file, limits=limits_from_args(args))
    answer = checked.answer
    if args.format == "json":
        print(dumps({"ok": True, "statements": len(checked.program.statements), "nodes": plan.graph.number_of_nodes(),
                     "answer": {"type": answer.kind, "element": answer.dtype} if answer else None, "root": plan.root}))
        return EXIT_OK
    kind = f"answer: {answer.kind}" + (f" of {answer.dtype}" if answer.dtype and answer.kind == "list" else "") if answer else "no answer"
    print(f"ok: {len(checked.program.statements)} statements, {plan.graph.number_of_nodes()} plan nodes, {kind}")
    return EXIT_OK


def _plan(args) -> int:
    from planner.explain import explain_dot, explain_english, explain_json, explain_text

    text, file = _program_text(args)
    if args.format == "sql" or args.dialect:  # the plan as SQL for another engine (docs/plans.md)
        return plan_sql_command(args, text, file)
    _, plan = plan_program(text, Catalog.from_specs(args.csv), file, canonical=not args.raw, limits=limits_from_args(args))
    render = {"text": explain_text, "json": explain_json, "dot": explain_dot,
              "english": lambda p: "\n".join(explain_english(p))}[args.format]
    print(render(plan))
    return EXIT_OK


def _read_program(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    if not Path(path).is_file():
        raise UsageError(f"no program file {path}")
    return Path(path).read_text(encoding="utf-8-sig")


def _verify(args) -> int:
    from verifier.answers import Options
    from verifier.report import verify

    if args.teacher == "-" and args.student == "-":
        raise UsageError("only one of --teacher and --student can be read from standard input")
    teacher, student = _read_program(args.teacher), _read_program(args.student)
    try:
        report = verify(teacher, student, Catalog.from_specs(args.csv), Options(case_insensitive=args.ignore_case),
                        limits_from_args(args))
    except DslError as error:  # the teacher's program must run; the student's errors are in the report
        raise error.with_source(teacher, args.teacher)
    print(report.model_dump_json(indent=2) if args.format == "json" else report.text())
    return EXIT_OK


def _generate(args) -> int:
    from csvdsl.pipeline.generate import generate, print_summary

    out = Path(args.out)
    if args.teacher == "model" and not args.model:
        raise UsageError("--teacher model needs --model")
    from csvdsl.pipeline.folder import generate_arguments

    shard = _shard(args)  # before the job: a usage error leaves no folder behind
    arguments = generate_arguments(args.csv, args.seed, args.teacher, args.per_table, args.model, args.explore_turns)
    with _job(out, "generate", arguments, args, (out / "tasks.jsonl", out / "teacher.jsonl")):
        if args.teacher == "model":
            import asyncio

            from csvdsl.pipeline.teacher import generate_with_model

            with _model_session(args, out, "generate") as client:
                summary = asyncio.run(generate_with_model(args.csv, out, args.per_table, args.seed, client,
                                                          args.explore_turns, shard))
        else:
            summary = generate(args.csv, out, args.per_table, args.seed, args.teacher, progress=not args.quiet,
                               shard=shard)
    if not args.quiet:
        print_summary(summary, out)
    return EXIT_OK


def _job(directory: Path, command: str, arguments: dict, args, repair: tuple, part: str | None = None):
    """One writer per folder, its arguments remembered (--force to change them), --repair."""
    from csvdsl.pipeline.folder import job

    return job(directory, command, arguments, force=args.force, repair=repair if args.repair else (), part=part,
               report=lambda text: print(text, file=sys.stderr))


@contextlib.contextmanager
def _model_session(args, directory: Path, command: str):
    """The model client, its responses cached in DIR/cache; its token use is recorded at the end, failed or not."""
    client = model_client(args, cache=directory / "cache")
    try:
        yield client
    finally:
        _record_usage(directory, command, client)


def _export(args) -> int:
    from csvdsl.pipeline.export import export, lengths_text

    directory = _task_dir(args.directory)
    chosen = [args.sft, args.rl, args.hf, args.push]
    if not any(chosen):  # nothing asked for: everything, next to the tasks
        args.sft, args.rl, args.hf = directory / "sft.jsonl", directory / "rl.jsonl", directory / "hf"
    counts = export(directory, args.sft, args.rl, args.hf, args.push, args.all_traces, (args.min_pass, args.max_pass),
                    args.system, args.license, args.tokenizer)
    written = ", ".join(f"{kind} -> {path}" for kind, path in (("sft", args.sft), ("rl", args.rl), ("hf", args.hf), ("hub", args.push)) if path)
    review = f"; {counts['review']} suspect tasks left out, listed in {directory / 'review.jsonl'}" if counts["review"] else ""
    print(f"{counts['records']} tasks exported: {written}{review}")
    print(lengths_text(counts["lengths"]))  # what max_length must hold (docs/generate.md)
    if counts.get("duplicates"):
        print(f"warning: {counts['duplicates']} repeated task ids in {directory / 'tasks.jsonl'} were exported once",
              file=sys.stderr)
    return EXIT_OK


def _task_dir(text: str) -> Path:
    """A directory that holds tasks.jsonl, or a usage error saying how to make one."""
    directory = Path(text)
    if not (directory / "tasks.jsonl").is_file():
        raise UsageError(f"no tasks.jsonl in {text}; run `csvdsl generate ... --out {text}` first")
    return directory


def model_client(args, cache: Path | None = None):
    """The ModelClient the model flags describe; ``cache`` is the response cache unless
    --cache or --no-cache says otherwise (default: the user's cache directory)."""
    import os

    from csvdsl.models.llm import ModelClient, load_prices

    cache = args.cache or cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "csvdsl" / "responses"
    if args.no_cache:
        cache = None
    return ModelClient(args.model, base_url=args.base_url, api_key=args.api_key, constrain=args.constrain,
                       concurrency=args.concurrency, timeout=args.request_timeout, retries=args.retries,
                       cache_dir=cache, prices=load_prices(args.prices), temperature=args.temperature,
                       max_tokens=args.max_tokens)


def _ask(args) -> int:
    from csvdsl.models.ask import ask

    if len(args.items) < 2:
        raise UsageError("give one or more CSV files, then the question")
    *specs, question = args.items
    return ask(model_client(args), specs, question, hint=args.hint, max_turns=args.max_turns,
               token_budget=args.token_budget, fmt=args.format, limits=limits_from_args(args))


def _grammar(args) -> int:
    from csvdsl.models.constrain import gbnf_grammar, lark_grammar

    print({"lark": lark_grammar, "gbnf": gbnf_grammar}[args.format](), end="")
    return EXIT_OK


def _solve(args) -> int:
    import asyncio

    from csvdsl.pipeline.shards import solutions_file
    from csvdsl.pipeline.students import STATUSES, solve_tasks

    directory = _task_dir(args.directory)
    shard = _shard(args)
    arguments = {"n": args.n, "hint_attempts": args.hint_attempts, "max_turns": args.max_turns,
                 "token_budget": args.token_budget}
    # One writer per shard (shards share the folder, each with its own solutions file).
    with _job(directory, f"solve:{args.model}", arguments, args, (directory / solutions_file(shard),),
              part=f"{shard[0]}-of-{shard[1]}"), _model_session(args, directory, "solve") as client:
        counts = asyncio.run(solve_tasks(directory, client, args.n, args.hint_attempts, args.max_turns,
                                         args.token_budget, shard))
    print("tasks by status: " + ", ".join(f"{status} {counts.get(status, 0):,}"
                                          for status in STATUSES))
    return EXIT_OK


def _import(args) -> int:
    from csvdsl.pipeline.importers import import_tasks, print_import

    out = Path(args.out)
    summary = import_tasks(args.format_name, Path(args.source), out, args.root, args.labels, args.limit)
    print(print_import(summary, args.format_name, out))
    return EXIT_OK


def _eval(args) -> int:
    from csvdsl.pipeline.evaluation import ATTEMPTS, eval_dir, evaluate, plot, report_table

    directory = _task_dir(args.directory)
    # One evaluation of a model per folder at a time; --samples may grow on a resume, the rest may not change.
    with _job(directory, f"eval:{args.model}", {"max_turns": args.max_turns, "token_budget": args.token_budget}, args,
              (eval_dir(directory, args.model) / ATTEMPTS,)), _model_session(args, directory, "eval") as client:
        figures = evaluate(directory, client, args.samples, args.max_turns, args.token_budget)
    print(report_table(figures), end="")
    _plot(plot, figures, args.plot)
    return EXIT_OK


def _shard(args) -> tuple[int, int]:
    from csvdsl.pipeline.shards import ShardError, parse_shard

    try:
        return parse_shard(args.shard)
    except ShardError as error:
        raise UsageError(str(error)) from None


def _record_usage(directory: Path, command: str, client) -> None:
    """Token use goes to the terminal and to DIR/usage.jsonl (for `csvdsl stats`)."""
    from csvdsl.models.llm import usage_report
    from csvdsl.pipeline.stats import record_usage

    rows = [row for row in client.usage_table() if row["requests"] or row["cached"]]
    if rows:
        record_usage(directory, command, rows)
        print(usage_report(rows), file=sys.stderr)


def _merge(args) -> int:
    from csvdsl.pipeline.merge import merge

    sources = [_task_dir(d) for d in args.directories]
    counts = merge(Path(args.out), sources)
    print(f"merged {len({d.resolve() for d in sources})} directories into {args.out}: " + ", ".join(
        f"{counts.get(name, 0):,} new {what}" for name, what in (("tasks.jsonl", "tasks"), ("teacher.jsonl", "teacher conversations"),
                                                                ("solutions.jsonl", "attempts"))))
    if counts.get("duplicates"):
        print(f"warning: {counts['duplicates']:,} tasks whose id was merged already were kept once", file=sys.stderr)
    return EXIT_OK


def _stats(args) -> int:
    from csvdsl.pipeline.stats import collect, plot, print_stats

    directory = _task_dir(args.directory)
    figures = collect(directory)
    if args.format == "json":
        print(json.dumps(figures, indent=2))
    else:
        print_stats(figures)
    _plot(plot, figures, args.plot)
    return EXIT_OK


def _plot(draw, figures: dict, path: str | None) -> None:
    """``--plot FILE.png``: ``draw(figures, path)`` when asked for (matplotlib is optional)."""
    if not path:
        return
    try:
        draw(figures, Path(path))
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'csvdsl[plot]'") from None
    print(f"plot written to {path}", file=sys.stderr)


def _fuzz(args) -> int:
    try:
        import duckdb, hypothesis  # noqa: F401, E401 - the oracle and the generator
    except ModuleNotFoundError as missing:
        raise UsageError(f"csvdsl fuzz needs {missing.name}, which is not installed: pip install 'csvdsl[fuzz]'") from None
    from csvdsl.testing.fuzz import campaign

    return campaign(args.examples, args.seconds, args.seed, Path(args.out))


def _repl(args) -> int:
    from csvdsl.repl import run_repl

    return run_repl(args)


def _fmt(args) -> int:
    text, file = _program_text(args)
    try:
        print(format_program(parse(text, file)), end="")
    except DslError as error:
        raise error.with_source(text, file)
    return EXIT_OK


def _add_program_args(sub, with_tables: bool = True) -> None:
    sub.add_argument("program", nargs="?", help="program file (- reads standard input)")
    sub.add_argument("-e", "--expression", metavar="TEXT", help="program text instead of a file")
    if with_tables:
        sub.add_argument("--csv", action="append", default=[], metavar="[NAME=]PATH",
                         help="a CSV table, named by its file stem unless NAME= is given (repeatable)")


def _at_least(low: int):
    """An argparse type: an integer no smaller than ``low``."""
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more")
        return value

    parse.__name__ = "int"  # argparse names the type in its message: "invalid int value"
    return parse


_positive, _non_negative = _at_least(1), _at_least(0)


def _add_limit_args(sub) -> None:
    defaults = Limits()
    # Negative or non-finite values are usage errors: they must never switch a limit off silently.
    sub.add_argument("--max-rows", type=_non_negative, default=defaults.max_rows, metavar="N",
                     help=f"stop when a table or a step has more rows, and print at most N rows of JSON "
                     f"(default {defaults.max_rows:,}; 0 = no limit)")
    sub.add_argument("--timeout", type=seconds_flag, default=defaults.timeout, metavar="SECONDS",
                     help=f"stop a program that runs longer, parsing included (default {defaults.timeout:g}; 0 = no limit)")
    sub.add_argument("--max-bytes", type=_non_negative, default=defaults.max_bytes, metavar="N",
                     help=f"stop when the results alive at once would hold more bytes (default {defaults.max_bytes:,}; 0 = no limit)")
    sub.add_argument("--max-program-chars", type=_non_negative, default=defaults.max_program_chars, metavar="N",
                     help=f"refuse longer programs (default {defaults.max_program_chars:,}; 0 = no limit)")
    sub.add_argument("--max-depth", type=_non_negative, default=defaults.max_expression_depth, metavar="N",
                     help=f"refuse more deeply nested expressions (default {defaults.max_expression_depth}; 0 = no limit)")


def _add_folder_args(sub, repaired: str) -> None:
    sub.add_argument("--force", action="store_true",
                     help="resume a folder made with other arguments (a folder remembers its own in job.json)")
    sub.add_argument("--repair", action="store_true", help=f"drop damaged lines from {repaired}")


def _add_model_args(sub, cache_help: str, required: bool = True) -> None:
    from csvdsl.models.constrain import MODES

    sub.add_argument("--model", required=required, metavar="M", help="the model's name on the server")
    sub.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible server (default: OPENAI_BASE_URL, else OpenAI)")
    sub.add_argument("--api-key", metavar="KEY", help="default: OPENAI_API_KEY (any value for a local server)")
    sub.add_argument("--constrain", choices=MODES, default="off",
                     help="grammar-constrained decoding: vllm (structured_outputs), openai (custom tool), llama (GBNF)")
    sub.add_argument("--temperature", type=float, default=None, metavar="T", help="sampling temperature (default: the server's)")
    sub.add_argument("--max-tokens", type=_positive, default=None, metavar="N", help="tokens per reply (default: the server's)")
    sub.add_argument("--max-turns", type=_positive, default=6, metavar="N", help="replies per solve (default 6)")
    sub.add_argument("--token-budget", type=int, default=None, metavar="N", help="stop a solve after this many tokens in all")
    sub.add_argument("--concurrency", type=_positive, default=8, metavar="N", help="requests in flight at once (default 8)")
    sub.add_argument("--request-timeout", type=float, default=120.0, metavar="S", help="seconds per request (default 120)")
    sub.add_argument("--retries", type=_non_negative, default=6, metavar="N",
                     help="retries on 429, 5xx, timeouts and lost connections, with backoff (default 6)")
    sub.add_argument("--cache", type=Path, default=None, metavar="DIR", help=cache_help)
    sub.add_argument("--no-cache", action="store_true", help="always ask the server")
    sub.add_argument("--prices", metavar="FILE", help='dollars per million tokens, {"model": {"input": 2.5, "output": 10}} '
                     "(default: the file named by CSVDSL_PRICES)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csvdsl", description="Query CSV files with the csvdsl language.")
    subs = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    run = subs.add_parser("run", help="run a program and print its answer")
    _add_program_args(run)
    run.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    run.add_argument("--rows", type=_positive, default=20, metavar="N", help="rows shown per table in text and markdown (default 20)")
    _add_limit_args(run)
    run.set_defaults(command=_run)

    check = subs.add_parser("check", help="check a program against the tables without running it")
    _add_program_args(check)
    check.add_argument("--format", choices=["text", "json"], default="text")
    _add_limit_args(check)
    check.set_defaults(command=_check)

    plan = subs.add_parser("plan", help="show a program's plan: numbered steps, JSON, DOT or English")
    _add_program_args(plan)
    plan.add_argument("--format", choices=["text", "json", "dot", "english", "sql"], default="text")
    plan.add_argument("--raw", action="store_true", help="the plan as written, before canonicalization")
    _add_limit_args(plan)
    plan.set_defaults(command=_plan)

    verify = subs.add_parser("verify", help="compare a student's program with a teacher's (exit 0 whenever a report is made)")
    verify.add_argument("--teacher", required=True, metavar="T.dsl", help="the reference program (- for standard input)")
    verify.add_argument("--student", required=True, metavar="S.dsl", help="the program to check (- for standard input)")
    verify.add_argument("--csv", action="append", default=[], metavar="[NAME=]PATH", help="a CSV table (repeatable)")
    verify.add_argument("--format", choices=["text", "json"], default="text")
    verify.add_argument("--ignore-case", action="store_true", help="compare text answers without regard to case")
    _add_limit_args(verify)
    verify.set_defaults(command=_verify)

    generate = subs.add_parser("generate", help="generate question/program tasks from CSVs with the built-in teacher")
    generate.add_argument("csv", nargs="+", metavar="[NAME=]CSV", help="the tables")
    generate.add_argument("--out", required=True, metavar="DIR", help="where tasks.jsonl and summary.json go")
    generate.add_argument("--per-table", type=_positive, default=20, metavar="N", help="tasks per table (default 20)")
    generate.add_argument("--seed", type=int, default=0, metavar="S", help="the same seed gives the same tasks (default 0)")
    generate.add_argument("--teacher", default="synth", choices=["synth", "model"],
                          help="who writes the tasks: synth (built in, offline; default) or a model (--model)")
    generate.add_argument("--explore-turns", type=_positive, default=4, metavar="K",
                          help="programs the model teacher may run to explore a table first (default 4)")
    generate.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    generate.add_argument("--shard", metavar="I/N", help="only every N-th table, from the I-th (0-based); merge later")
    _add_folder_args(generate, "tasks.jsonl (the tasks on those lines are made again)")
    _add_model_args(generate, "the response cache (default DIR/cache)", required=False)
    generate.set_defaults(command=_generate, format="text")

    export = subs.add_parser("export", help="turn tasks.jsonl into SFT and RL training data and a Hugging Face dataset")
    export.add_argument("directory", metavar="DIR", help="a directory holding tasks.jsonl")
    export.add_argument("--sft", type=Path, metavar="PATH", help="SFT rows as JSONL")
    export.add_argument("--rl", type=Path, metavar="PATH", help="RL (GRPO) rows as JSONL")
    export.add_argument("--hf", type=Path, metavar="PATH",
                        help="a folder in the Hub's layout: configs sft, rl and tables (Parquet) and a card")
    export.add_argument("--push", metavar="REPO", help="upload that folder to a dataset repository on the Hugging Face Hub")
    export.add_argument("--system", choices=("short", "card", "none"), default="short",
                        help="the system prompt of exported conversations: short (default: the reply's form and the "
                             "task's tables), card (the teacher's full language card) or none")
    export.add_argument("--license", metavar="ID", help="the dataset card's license (default: unknown)")
    export.add_argument("--tokenizer", metavar="PATH",
                        help="a local tokenizer (folder or tokenizer.json): row lengths in tokens too; nothing is downloaded")
    export.add_argument("--all-traces", action="store_true",
                        help="every verified student trace in SFT (default: the shortest per task)")
    export.add_argument("--min-pass", type=float, default=0.0, metavar="P",
                        help="RL keeps tasks whose pass rate without the hint is above P (default 0), once solved")
    export.add_argument("--max-pass", type=float, default=1.0, metavar="P",
                        help="... and below P (default 1)")
    export.set_defaults(command=_export, format="text")

    ask = subs.add_parser("ask", help="ask a model one question about CSV files and watch it work")
    ask.add_argument("items", nargs="+", metavar="CSV... QUESTION", help="the tables ([NAME=]PATH), then the question")
    ask.add_argument("--hint", metavar="TEXT", help="a hint given with the question")
    ask.add_argument("--format", choices=["text", "json"], default="text",
                     help="text streams the transcript; json prints the result at the end")
    _add_model_args(ask, "the response cache (default ~/.cache/csvdsl/responses)")
    _add_limit_args(ask)
    ask.set_defaults(command=_ask)

    solve = subs.add_parser("solve", help="students solve the tasks in DIR (hint first, then n without); label each task")
    solve.add_argument("directory", metavar="DIR", help="a directory holding tasks.jsonl")
    solve.add_argument("--n", type=_positive, default=8, metavar="N", help="attempts without the hint (default 8)")
    solve.add_argument("--hint-attempts", type=int, default=1, metavar="H", help="attempts with the hint (default 1)")
    solve.add_argument("--shard", metavar="I/N",
                       help="only every N-th task (by id), from the I-th; shards can share DIR (each writes its own file)")
    _add_folder_args(solve, "this shard's solutions file (those attempts are made again)")
    _add_model_args(solve, "the response cache (default DIR/cache)")
    solve.set_defaults(command=_solve, format="text")

    importer = subs.add_parser("import", help="questions with gold answers from WikiTableQuestions, TabFact, DABench or JSONL, as tasks")
    importer.add_argument("format_name", choices=["wtq", "tabfact", "dabench", "jsonl"], metavar="FORMAT", help="wtq, tabfact, "
                          "dabench or jsonl ({question, tables, answer, hint?} a line); layouts: docs/import-eval.md")
    importer.add_argument("source", metavar="SOURCE", help="the dataset file")
    importer.add_argument("--out", required=True, metavar="DIR", help="where tasks.jsonl goes (appended; a re-import adds nothing twice)")
    importer.add_argument("--root", metavar="DIR", help="where tables are found (default: as in the format's official layout)")
    importer.add_argument("--labels", metavar="FILE", help="dabench: the labels file (default: *-labels.jsonl beside SOURCE)")
    importer.add_argument("--limit", type=_positive, metavar="N", help="only the first N questions")
    importer.set_defaults(command=_import, format="text")

    evaluate = subs.add_parser("eval", help="a model's accuracy on the tasks in DIR: accuracy, pass@k, turns, tokens, cost")
    evaluate.add_argument("directory", metavar="DIR", help="a directory holding tasks.jsonl")
    evaluate.add_argument("--samples", type=_positive, default=1, metavar="K", help="solves per task (default 1)")
    evaluate.add_argument("--plot", metavar="FILE.png", help="also draw the figures to a PNG (needs matplotlib)")
    _add_model_args(evaluate, "the response cache (default DIR/cache)")
    _add_folder_args(evaluate, "the model's attempts file (those attempts are made again)")
    evaluate.set_defaults(command=_eval, format="text")

    merge = subs.add_parser("merge", help="merge shard directories (tasks, conversations, attempts, usage) into one")
    merge.add_argument("directories", nargs="+", metavar="DIR", help="the shard directories")
    merge.add_argument("--out", required=True, metavar="DIR", help="the merged directory (can be merged into again)")
    merge.set_defaults(command=_merge, format="text")

    stats = subs.add_parser("stats", help="tasks by status and difficulty, pass rates, rejections, token use and cost")
    stats.add_argument("directory", metavar="DIR")
    stats.add_argument("--format", choices=["text", "json"], default="text")
    stats.add_argument("--plot", metavar="FILE.png", help="also draw the figures to a PNG (needs matplotlib)")
    stats.set_defaults(command=_stats)

    grammar = subs.add_parser("grammar", help="print the grammar sent for constrained decoding (Lark for llguidance, or GBNF)")
    grammar.add_argument("--format", choices=["lark", "gbnf"], default="lark")
    grammar.set_defaults(command=_grammar)

    fuzz = subs.add_parser("fuzz", help="differential fuzzing: generated programs on generated tables, pandas vs DuckDB")
    fuzz.add_argument("--examples", type=_positive, default=1000, metavar="N", help="programs to try (default 1,000)")
    fuzz.add_argument("--seconds", type=float, default=None, metavar="S", help="stop after this long")
    fuzz.add_argument("--seed", type=int, default=0, metavar="K", help="the same seed tries the same programs")
    fuzz.add_argument("--out", default="fuzz-failure", metavar="DIR", help="where a reproducer is written (default fuzz-failure)")
    fuzz.set_defaults(command=_fuzz, format="text")

    repl = subs.add_parser("repl", help="an interactive shell (runs a script when standard input is not a terminal)")
    repl.add_argument("tables", nargs="*", metavar="[NAME=]CSV", help="CSV tables to load, named by file stem unless NAME= is given")
    repl.add_argument("--rows", type=_positive, default=20, metavar="N", help="rows shown per table (default 20)")
    repl.add_argument("--history", default=None, metavar="FILE", help="history file (default ~/.csvdsl_history)")
    _add_limit_args(repl)
    repl.set_defaults(command=_repl, format="text")

    fmt = subs.add_parser("fmt", help="print a program in canonical form")
    _add_program_args(fmt, with_tables=False)
    fmt.set_defaults(command=_fmt, format="text")
    add_engine_args([run, verify, generate, solve, repl], verbose=run, plan=plan)
    return parser


if __name__ == "__main__":
    sys.exit(main())
