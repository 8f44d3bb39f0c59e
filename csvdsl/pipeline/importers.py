"""``csvdsl import FORMAT SOURCE --out DIR``: questions with gold answers from existing table-QA
data (WikiTableQuestions, TabFact, InfiAgent-DABench, or generic JSONL) as task records without
a program yet (``origin.teacher == "gold"``). Tables are read with csvdsl's own reader; a table
it cannot read is reported for the tasks that use it (``DIR/import-problems.jsonl``), not fatal."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from csvdsl.errors import DataError, DslError
from csvdsl.pipeline.folder import folder_lock
from csvdsl.pipeline.generate import conversation, written_ids
from csvdsl.pipeline.jsonl import append_line
from csvdsl.pipeline.jsonl import rows as jsonl_rows
from csvdsl.pipeline.records import TASKS, Difficulty, Gold, Origin, TaskRecord
from csvdsl.tables import Catalog, read_table, table_info, table_name_from_path
from verifier.denotation import canonical, to_denotation
from verifier.gold import MODES, gold_answer

PROBLEMS = "import-problems.jsonl"
FORMATS = ("wtq", "tabfact", "dabench", "jsonl")
_WTQ_ESCAPES = {"n": "\n", "p": "|", "\\": "\\"}


@dataclass
class Question:
    """One question as a dataset gives it, before its tables are read."""

    id: str
    question: str
    tables: dict[str, Path]  # table name -> CSV file
    answer: dict  # typed
    match: str = "typed"
    texts: list[str] | None = None
    canons: list[str] | None = None
    hint: str = ""
    level: str | None = None


@dataclass
class ImportSummary:
    imported: int = 0
    resumed: int = 0  # already in tasks.jsonl from an earlier import
    problems: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        codes: dict[str, int] = {}
        for problem in self.problems:
            codes[problem["code"]] = codes.get(problem["code"], 0) + 1
        return {"imported": self.imported, "resumed": self.resumed, "problems": codes}


def _import_error(code: str, message: str, hint: str, file: Path | None = None) -> DataError:
    return DataError(code, message, hint=hint, file=str(file) if file else None)


# ------------------------------------------------------------------ WikiTableQuestions


def _wtq_unescape(text: str) -> str:
    """The TSV escapes of WikiTableQuestions: ``\\n``, ``\\p`` (a pipe) and ``\\\\``."""
    return re.sub(r"\\(.)", lambda m: _WTQ_ESCAPES.get(m.group(1), m.group(0)), text)


def _wtq_items(text: str) -> list[str]:
    """A targetValue field: items separated by ``|`` (a pipe inside an item is ``\\p``)."""
    return [_wtq_unescape(item) for item in text.split("|")]


def _tsv(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise _import_error("import-unreadable", f"cannot read {path}: {error}", "give a UTF-8 TSV file", path) from None
    if not lines:
        return []
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]


def _wtq(source: Path, root: Path | None, out: Path, labels: Path | None) -> list[Question]:
    """``data/*.tsv``; contexts (``csv/204-csv/590.csv``) resolve against the dataset root."""
    root = root or source.parent.parent
    rows = _tsv(source)
    _require(rows, ("id", "utterance", "context", "targetValue"), source)
    # The official evaluator reads the targets' canonical values from the tagged dataset when it has it.
    tagged = root / "tagged" / "data" / f"{source.stem}.tagged"
    canons = {row["id"]: _wtq_items(row["targetCanon"]) for row in _tsv(tagged) if "targetCanon" in row} \
        if tagged.is_file() else {}
    questions = []
    for row in rows:
        context = row["context"]
        name = "t" + "_".join(re.findall(r"\d+", context)) if re.search(r"\d", context) else table_name_from_path(context)
        texts = _wtq_items(row["targetValue"])
        table = _converted(root / context, out, name, dict(escapechar="\\", doublequote=False))
        questions.append(Question(row["id"], _wtq_unescape(row["utterance"]).strip(), {name: table},
                                  _wtq_typed(texts, canons.get(row["id"])), "denotation", texts, canons.get(row["id"])))
    return questions


def _wtq_typed(texts: list[str], canons: list[str] | None) -> dict:
    """The targets as a typed answer (one item: a scalar), numbers and dates read as the
    official evaluator reads them; matching still uses the texts themselves."""
    canons = canons if canons and len(canons) == len(texts) else [canonical(t) for t in texts]
    items = []
    for text, canon in zip(texts, canons):
        value = to_denotation(text, canon)
        if value.number is not None:
            items.append(("number", value.number))
        elif value.date is not None and -1 not in value.date:
            items.append(("date", "{:04d}-{:02d}-{:02d}".format(*value.date)))
        else:
            items.append(("string", text))
    if len(items) == 1:
        return {"type": items[0][0], "value": items[0][1]}
    return {"type": "list", "value": [value for _, value in items]}


def _converted(path: Path, out: Path, name: str, dialect: dict) -> Path:
    """A table in a dialect csvdsl does not read (backslash escapes, ``#`` separators)
    rewritten as a plain CSV under ``DIR/tables``; a file that cannot be read is left as it
    is, for the reader to report."""
    target = out / "tables" / f"{name}.csv"
    if target.is_file():
        return target
    try:
        with open(path, encoding="utf-8", newline="") as source:
            rows = list(csv.reader(source, **dialect))
    except (OSError, UnicodeDecodeError, csv.Error):
        return path
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as sink:
        csv.writer(sink).writerows(rows)
    temporary.replace(target)
    return target


# ------------------------------------------------------------------ TabFact


def _tabfact(source: Path, root: Path | None, out: Path, labels: Path | None) -> list[Question]:
    """``collected_data/*.json`` (or a file of that shape): table file -> [statements, labels
    (1 entailed, 0 refuted), caption]; tables in ``data/all_csv``, ``#``-separated."""
    root = root or source.parent.parent
    data = _json(source)
    if not isinstance(data, dict):
        raise _import_error("import-bad-format", f"{source} is not a TabFact file",
                            'TabFact files map a table file to [statements, labels, caption]', source)
    questions = []
    for table_file, entry in data.items():
        if not isinstance(entry, list) or len(entry) < 2 or not all(isinstance(e, list) for e in entry[:2]) \
                or len(entry[0]) != len(entry[1]):
            raise _import_error("import-bad-format", f"{source}: the entry of {table_file} is not [statements, labels, caption]",
                                "each statement needs a label (1 entailed, 0 refuted)", source)
        caption = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else ""
        name = "t" + "_".join(re.findall(r"\d+", table_file)) or table_name_from_path(table_file)
        table = _converted(root / "data" / "all_csv" / table_file, out, name, dict(delimiter="#"))
        about = f' (the table "{caption}")' if caption else ""
        for index, (statement, label) in enumerate(zip(entry[0], entry[1])):
            if not isinstance(statement, str) or label not in (0, 1):  # True and False are 1 and 0 too
                raise _import_error("import-bad-format", f"{source}: statement {index} of {table_file} is not text "
                                    "labelled 1 or 0", "labels are 1 (entailed) or 0 (refuted)", source)
            question = (f"Is this statement about the table{about} true or false? {statement.strip()}\n"
                        "Answer with true or false.")
            questions.append(Question(f"{table_file}/{index}", question, {name: table},
                                      {"type": "bool", "value": bool(int(label))}, "label"))
    return questions


# ------------------------------------------------------------------ InfiAgent-DABench


def _dabench(source: Path, root: Path | None, out: Path, labels: Path | None) -> list[Question]:
    """``da-dev-questions.jsonl`` with ``da-dev-labels.jsonl`` (``@name[value]`` parts) and the
    tables in ``da-dev-tables/`` beside them (or --root)."""
    labels = labels or source.with_name(source.name.replace("questions", "labels"))
    if labels == source or not labels.is_file():
        raise _import_error("import-no-labels", f"no labels file for {source}",
                            "give --labels FILE (the official layout has da-dev-labels.jsonl beside the questions)", source)
    answers = {str(row["id"]): row for row in _jsonl(labels)}
    tables = root or source.with_name(source.stem.replace("questions", "tables"))
    questions = []
    for row in _jsonl(source):
        _require([row], ("id", "question", "file_name"), source)
        label = answers.get(str(row["id"]))
        if label is None:
            continue  # a question without a label cannot be verified
        parts = label.get("common_answers") or []
        answer = {"type": "record", "value": {str(name): gold_answer(str(value)) for name, value in parts}}
        text = row["question"].strip()
        if row.get("constraints"):
            text += f"\n\nConstraints: {row['constraints'].strip()}"
        if row.get("format"):
            text += (f"\n\nAnswer format: {row['format'].strip()}\n"
                     "Answer with one part per @name: a one-row table with those columns.")
        path = tables / row["file_name"]
        questions.append(Question(str(row["id"]), text, {table_name_from_path(path): path}, answer, "rounded",
                                  [f"@{name}[{value}]" for name, value in parts], level=row.get("level")))
    return questions


# ------------------------------------------------------------------ generic JSONL


def _jsonl_questions(source: Path, root: Path | None, out: Path, labels: Path | None) -> list[Question]:
    """``{"question", "tables": {name: path}, "answer", "hint"?, "id"?, "match"?, "level"?}``
    per line; paths relative to the file's folder (or --root)."""
    base = root or source.parent
    questions = []
    for number, row in enumerate(_jsonl(source), start=1):
        _require([row], ("question", "tables", "answer"), source)
        match = row.get("match", "typed")
        if match not in MODES or not isinstance(row["tables"], dict):
            raise _import_error("import-bad-format", f"{source}:{number}: bad `match` or `tables`",
                                "match is typed, denotation, label or rounded; tables maps names to CSV paths", source)
        answer = row["answer"]
        texts = [str(a) for a in answer] if match == "denotation" and isinstance(answer, list) else None
        questions.append(Question(str(row.get("id", number)), str(row["question"]).strip(),
                                  {name: base / path for name, path in row["tables"].items()},
                                  gold_answer(answer), match, texts, hint=str(row.get("hint") or ""),
                                  level=row.get("level")))
    return questions


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise _import_error("import-unreadable", f"cannot read {path}: {error}", "give the dataset's JSON file", path) from None


def _jsonl(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise _import_error("import-unreadable", f"cannot read {path}: {error}", "give a UTF-8 JSONL file", path) from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise _import_error("import-bad-json", f"{path}:{number} is not JSON: {error}",
                                "each line is one JSON object", path) from None
        if not isinstance(row, dict):
            raise _import_error("import-bad-json", f"{path}:{number} is not a JSON object", "each line is one JSON object", path)
        rows.append(row)
    return rows


def _require(rows: list[dict], names: tuple[str, ...], path: Path) -> None:
    for row in rows[:1]:
        missing = [n for n in names if n not in row]
        if missing:
            raise _import_error("import-bad-format", f"{path} has no field {', '.join(missing)}",
                                f"this format needs the fields {', '.join(names)}", path)


READERS = {"wtq": _wtq, "tabfact": _tabfact, "dabench": _dabench, "jsonl": _jsonl_questions}


# ------------------------------------------------------------------ records


def gold_task_id(source: str, question: Question, shas: list[str]) -> str:
    """Stable: the same question of the same dataset over the same files is the same task."""
    payload = json.dumps([source, question.id, question.question, sorted(shas)])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def gold_record(question: Question, catalog: Catalog, source: str) -> TaskRecord:
    tables = [table_info(catalog, name) for name in question.tables]
    gold = Gold(answer=question.answer, match=question.match, source=source, id=question.id, texts=question.texts,
                canons=question.canons, hint=question.hint, level=question.level)
    return TaskRecord(id=gold_task_id(source, question, [t.sha256 for t in tables]), tables=tables,
                      question=question.question, hint=question.hint, program="", plan={}, answer=question.answer,
                      difficulty=Difficulty(operations=0, depth=0, joins=0, windows=0, aggregates=0,
                                            level=question.level or "unknown"),
                      origin=Origin(teacher="gold", seed=0), conversation=conversation(question.question, tables), gold=gold)


def import_tasks(fmt: str, source: Path, out: Path, root: Path | None = None, labels: Path | None = None,
                 limit: int | None = None) -> ImportSummary:
    """Append the questions of ``source`` to ``out/tasks.jsonl`` as gold tasks (skipping those
    already there); the tasks whose tables cannot be read go to ``out/import-problems.jsonl``."""
    source, out = Path(source), Path(out)
    if not source.is_file():
        raise _import_error("import-not-found", f"{source} does not exist",
                            f"give the {fmt} file itself (see docs/import-eval.md for the layouts)", source)
    with folder_lock(out, "import"):  # one importer appends to a folder's tasks at a time
        return _import(fmt, source, out, root, labels, limit)


def _import(fmt: str, source: Path, out: Path, root: Path | None, labels: Path | None, limit: int | None) -> ImportSummary:
    try:
        questions = READERS[fmt](source.resolve(), Path(root).resolve() if root else None, out.resolve(),
                                 Path(labels) if labels else None)
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a field of the wrong kind, or missing
        raise _import_error("import-bad-format", f"{source} does not have the {fmt} layout ({type(error).__name__}: {error})",
                            "see docs/import-eval.md for each format's fields", source) from None
    if limit is not None:
        questions = questions[:limit]
    written = written_ids(out / TASKS)
    summary = ImportSummary()
    tables: dict[tuple[str, Path], object] = {}  # many questions share a table: read it once
    name = f"{fmt}:{source.stem}"
    for question in questions:
        catalog = Catalog()
        try:
            for table_name, path in question.tables.items():
                key = (table_name, Path(path))
                if key not in tables:
                    try:
                        tables[key] = read_table(path, table_name)
                    except DslError as error:
                        tables[key] = error
                if isinstance(tables[key], DslError):
                    raise tables[key]
                catalog.add(tables[key])
        except DslError as error:
            summary.problems.append({"source": name, "id": question.id, "question": question.question, "code": error.code,
                                     "message": error.message, "file": error.file, "line": error.line})
            continue
        record = gold_record(question, catalog, name)
        if record.id in written:
            summary.resumed += 1
            continue
        append_line(out / TASKS, record.model_dump_json())
        written.add(record.id)
        summary.imported += 1
    # This source's problems replace those of its last import; other sources' stay.
    kept = [p for p in jsonl_rows(out / PROBLEMS) if p.get("source") != name] + summary.problems
    (out / PROBLEMS).write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in kept), encoding="utf-8")
    return summary


def print_import(summary: ImportSummary, fmt: str, out: Path) -> str:
    """The end-of-import lines: counts, and the problems by code."""
    lines = [f"{summary.imported} {fmt} tasks imported into {out / TASKS}"
             + (f" ({summary.resumed} already there)" if summary.resumed else "")]
    if summary.problems:
        codes = ", ".join(f"{code} {count}" for code, count in sorted(summary.as_dict()["problems"].items()))
        lines.append(f"{len(summary.problems)} skipped, their tables unreadable ({codes}): see {out / PROBLEMS}")
    return "\n".join(lines)
