"""``csvdsl import FORMAT SOURCE --out DIR``: questions with gold answers from existing table-QA
data (WikiTableQuestions, TabFact, InfiAgent-DABench, or generic JSONL) as task records without
a program yet (``origin.teacher == "gold"``). Tables are read with csvdsl's own reader; a table
it cannot read is reported for the tasks that use it (``DIR/import-problems.jsonl``), not fatal."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from csvdsl.errors import DataError, DslError, Span
from csvdsl.pipeline.folder import folder_lock
from csvdsl.pipeline.generate import conversation, written_ids
from csvdsl.pipeline.jsonl import append_line
from csvdsl.pipeline.jsonl import rows as jsonl_rows
from csvdsl.pipeline.records import TASKS, Difficulty, Gold, Origin, TaskRecord
from csvdsl.tables import Catalog, read_table, table_info, table_name_from_path
from verifier.denotation import canonical, to_denotation
from verifier.gold import MODES, gold_answer, gold_problem

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


def _import_error(code: str, message: str, hint: str, file: Path | None = None, line: int | None = None) -> DataError:
    return DataError(code, message, hint=hint, file=str(file) if file else None, span=Span(line, 1) if line else None)


_ANSWER_HINT = ("give a non-empty answer: a number, text, a bool, a list, an object of named parts, "
                'or a typed answer {"type", "value"} (see docs/import-eval.md)')


def _gold(value, path: Path, line: int, hint: str = _ANSWER_HINT) -> dict:
    """A dataset's answer as a typed gold answer; an ``import-bad-answer`` error at the file
    and line when it is none (null, empty, not finite, of an unknown type, an unclosed part)."""
    try:
        answer = gold_answer(value)
    except ValueError as error:
        problem = str(error)
    else:
        problem = gold_problem(answer)
        if problem is None:
            return answer
        problem = f"the answer {problem}: {json.dumps(value, default=str)[:80]}"
    raise _import_error("import-bad-answer", problem, hint, path, line)


def _level(row: dict, path: Path, line: int) -> str | None:
    """The dataset's difficulty: text, or a whole number read as text (``3`` -> ``"3"``)."""
    level = row.get("level")
    if level is None or isinstance(level, str):
        return level
    if isinstance(level, int) and not isinstance(level, bool):
        return str(level)
    raise _import_error("import-bad-format", f"the level {json.dumps(level)} is not text", 
                        'give the level as text ("easy") or a whole number, or leave it out', path, line)


def _unique_name(taken: dict[str, str], name: str, file: str) -> str:
    """``name``, or ``name_2``, ``name_3``, ... when another table file of this import has it."""
    candidate, count = name, 1
    while taken.setdefault(candidate, file) != file:
        count += 1
        candidate = f"{name}_{count}"
    return candidate


# ------------------------------------------------------------------ WikiTableQuestions


def _wtq_unescape(text: str) -> str:
    """The TSV escapes of WikiTableQuestions: ``\\n``, ``\\p`` (a pipe) and ``\\\\``."""
    return re.sub(r"\\(.)", lambda m: _WTQ_ESCAPES.get(m.group(1), m.group(0)), text)


def _wtq_items(text: str) -> list[str]:
    """A targetValue field: items separated by ``|`` (a pipe inside an item is ``\\p``)."""
    return [_wtq_unescape(item) for item in text.split("|")]


def _tsv(path: Path) -> list[tuple[int, dict]]:
    """The rows of a TSV file with a header, each with its line number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise _import_error("import-unreadable", f"cannot read {path}: {error}", "give a UTF-8 TSV file", path) from None
    if not lines:
        return []
    header = lines[0].split("\t")
    return [(number, dict(zip(header, line.split("\t")))) for number, line in enumerate(lines[1:], start=2) if line.strip()]


def _wtq(source: Path, root: Path | None, out: Path, labels: Path | None) -> list[Question]:
    """``data/*.tsv``; contexts (``csv/204-csv/590.csv``) resolve against the dataset root."""
    root = root or source.parent.parent
    rows = _tsv(source)
    _require([row for _, row in rows], ("id", "utterance", "context", "targetValue"), source)
    # The official evaluator reads the targets' canonical values from the tagged dataset when it has it.
    tagged = root / "tagged" / "data" / f"{source.stem}.tagged"
    canons = {row["id"]: _wtq_items(row["targetCanon"]) for _, row in _tsv(tagged) if "targetCanon" in row} \
        if tagged.is_file() else {}
    questions, names = [], {}
    for number, row in rows:
        context = row["context"]
        name = "t" + "_".join(re.findall(r"\d+", context)) if re.search(r"\d", context) else table_name_from_path(context)
        name = _unique_name(names, name, context)
        texts = _wtq_items(row["targetValue"])
        if not all(text.strip() for text in texts):
            raise _import_error("import-bad-answer", f"question {row['id']}: the targetValue {row['targetValue']!r} "
                                "has an empty item", "give each question its answer, items separated by |", source, number)
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
    is, for the reader to report. The rewritten file is named by the source's content, so
    two different files never share one."""
    try:
        content = path.read_bytes()
        digest = hashlib.sha256(content + json.dumps(dialect, sort_keys=True).encode()).hexdigest()[:16]
        target = out / "tables" / f"{name}-{digest}.csv"
        if target.is_file():
            return target
        rows = list(csv.reader(io.StringIO(content.decode("utf-8"), newline=""), **dialect))
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
    questions, names = [], {}
    for table_file, entry in data.items():
        if not isinstance(entry, list) or len(entry) < 2 or not all(isinstance(e, list) for e in entry[:2]) \
                or len(entry[0]) != len(entry[1]):
            raise _import_error("import-bad-format", f"{source}: the entry of {table_file} is not [statements, labels, caption]",
                                "each statement needs a label (1 entailed, 0 refuted)", source)
        caption = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else ""
        digits = re.findall(r"\d+", table_file)
        name = _unique_name(names, "t" + "_".join(digits) if digits else table_name_from_path(table_file), table_file)
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
    answers = {str(row["id"]): (number, row) for number, row in _jsonl(labels)}
    tables = root or source.with_name(source.stem.replace("questions", "tables"))
    questions, names = [], {}
    for number, row in _jsonl(source):
        _require([row], ("id", "question", "file_name"), source, number)
        found = answers.get(str(row["id"]))
        if found is None:
            continue  # a question without a label cannot be verified
        label_line, label = found
        parts = label.get("common_answers")
        if not isinstance(parts, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in parts):
            raise _import_error("import-bad-answer", f"question {row['id']}: common_answers is not a list of [name, value] pairs",
                                'give the parts as [["name", "value"], ...]', labels, label_line)
        answer = _gold({str(name): str(value) for name, value in parts}, labels, label_line,
                       'give at least one part, as [["name", "value"], ...], each with a value')
        text = _text(row, "question", source, number).strip()
        if row.get("constraints"):
            text += f"\n\nConstraints: {row['constraints'].strip()}"
        if row.get("format"):
            text += (f"\n\nAnswer format: {row['format'].strip()}\n"
                     "Answer with one part per @name: a one-row table with those columns.")
        path = tables / row["file_name"]
        table = _unique_name(names, table_name_from_path(path), str(row["file_name"]))
        questions.append(Question(str(row["id"]), text, {table: path}, answer, "rounded",
                                  [f"@{name}[{value}]" for name, value in parts], level=_level(row, source, number)))
    return questions


# ------------------------------------------------------------------ generic JSONL


def _jsonl_questions(source: Path, root: Path | None, out: Path, labels: Path | None) -> list[Question]:
    """``{"question", "tables": {name: path}, "answer", "hint"?, "id"?, "match"?, "level"?}``
    per line; paths relative to the file's folder (or --root)."""
    base = root or source.parent
    questions = []
    for number, row in _jsonl(source):
        _require([row], ("question", "tables", "answer"), source, number)
        match = row.get("match", "typed")
        if match not in MODES:
            raise _import_error("import-bad-format", f"bad `match`: {json.dumps(match)}",
                                "match is typed, denotation, label or rounded", source, number)
        tables = row["tables"]
        if not isinstance(tables, dict) or not tables or \
                not all(isinstance(path, str) and path for path in tables.values()):
            raise _import_error("import-bad-format", f"bad `tables`: {json.dumps(tables)[:80]}",
                                'tables maps each table\'s name to its CSV path: {"sales": "sales.csv"}', source, number)
        identifier = row.get("id", number)
        if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
            raise _import_error("import-bad-format", f"the id {json.dumps(identifier)[:80]} is not text or a number",
                                "give each question a text or whole-number id, or leave it out", source, number)
        answer = row["answer"]
        texts = [str(a) for a in answer] if match == "denotation" and isinstance(answer, list) else None
        questions.append(Question(str(identifier), _text(row, "question", source, number).strip(),
                                  {name: base / path for name, path in tables.items()},
                                  _gold(answer, source, number), match, texts,
                                  hint=_text(row, "hint", source, number, ""), level=_level(row, source, number)))
    return questions


def _text(row: dict, field: str, path: Path, line: int, default: str | None = None) -> str:
    """A field that must be text (``default`` when it is missing or null and may be)."""
    value = row.get(field)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise _import_error("import-bad-format", f"the {field} {json.dumps(value)[:80]} is not text",
                            f"give the {field} as a JSON string", path, line)
    return value


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise _import_error("import-unreadable", f"cannot read {path}: {error}", "give the dataset's JSON file", path) from None


def _jsonl(path: Path) -> list[tuple[int, dict]]:
    """The objects of a JSONL file, each with its line number."""
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
            raise _import_error("import-bad-json", f"this line is not JSON: {error}",
                                "each line is one JSON object", path, number) from None
        if not isinstance(row, dict):
            raise _import_error("import-bad-json", "this line is not a JSON object", "each line is one JSON object",
                                path, number)
        rows.append((number, row))
    return rows


def _require(rows: list[dict], names: tuple[str, ...], path: Path, line: int | None = None) -> None:
    for row in rows[:1]:
        missing = [n for n in names if n not in row]
        if missing:
            raise _import_error("import-bad-format", f"{path.name} has no field {', '.join(missing)}",
                                f"this format needs the fields {', '.join(names)}", path, line)


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
        what = "is a directory, not a file" if source.is_dir() else "does not exist"
        raise _import_error("import-not-found", f"{source} {what}",
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
