"""One verification: the student's answer against the teacher's (tight), their plans
(exact, similarity, edit script) and hooks (loose), in one pydantic report. A student's
error is a result in the report, never an exception."""

from __future__ import annotations

from pydantic import BaseModel

from csvdsl.engine import Engine
from csvdsl.errors import DslError, internal_error
from csvdsl.limits import Limits
from csvdsl.program import ProgramRun
from verifier.answers import Options, compare, typed
from verifier.hooks import fingerprints_for, hook_coverage
from verifier.structure import compare_plans


class StudentError(BaseModel):
    """Why the student's program failed: the phase, code, message, position and hint."""

    phase: str
    code: str
    message: str
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    @classmethod
    def of(cls, error: DslError) -> "StudentError":
        return cls(phase=error.phase, code=error.code, message=error.message, line=error.line,
                   column=error.column, hint=error.hint)


class VerificationReport(BaseModel):
    answer_match: float
    answer_reason: str
    exact_plan: bool
    similarity: float
    hook_coverage: float
    hooks_matched: int
    hooks_total: int
    edit_script: str
    error: StudentError | None = None
    teacher_answer: dict | None = None
    student_answer: dict | None = None

    def text(self) -> str:
        """The report as a person reads it."""
        lines = [
            f"answer match   {self.answer_match:.2f}  {self.answer_reason}",
            f"exact plan     {'yes' if self.exact_plan else 'no'}",
            f"similarity     {self.similarity:.3f}",
            f"hook coverage  {self.hook_coverage:.2f}  ({self.hooks_matched} of {self.hooks_total} teacher steps found)",
        ]
        if self.error:
            where = f" at line {self.error.line}, column {self.error.column}" if self.error.line else ""
            lines.append(f"student error  [{self.error.code}] {self.error.message}{where}")
        lines += ["", "edit script (t = teacher, s = student):", self.edit_script or "(nothing)"]
        return "\n".join(lines)


def verify(teacher: str | ProgramRun, student: str, tables, options: Options | None = None,
           limits: Limits | None = None) -> VerificationReport:
    """Verify ``student`` (program text) against ``teacher`` (program text, or its run) on
    ``tables`` (an Engine, a Catalog, or names mapped to CSV paths or DataFrames).
    A teacher program that fails raises its DslError: the reference must be right."""
    engine = tables if isinstance(tables, Engine) else Engine(tables)
    reference = teacher if isinstance(teacher, ProgramRun) else engine.run(teacher, limits)
    expected = typed(reference.answer) if reference.answer is not None else None
    try:
        attempt = engine.run(student, limits)
    except DslError as error:
        return _failed(reference, expected, StudentError.of(error))
    except Exception as error:  # a bug, not the student's fault: still a report
        return _failed(reference, expected, StudentError.of(internal_error(error)))
    structure = compare_plans(reference.plan, attempt.plan)
    hooks = hook_coverage(reference.plan, reference.execution.frames, attempt.plan, attempt.execution.frames,
                          fingerprints_for(engine))
    got = typed(attempt.answer) if attempt.answer is not None else None
    if expected is None:
        match, reason = 1.0, "the teacher's program has no answer"
    elif got is None:
        match, reason = 0.0, "the student's program has no `answer`"
    else:
        result = compare(expected, got, options)
        match, reason = result.score, result.reason
    return VerificationReport(
        answer_match=match, answer_reason=reason, exact_plan=structure.exact, similarity=structure.similarity,
        hook_coverage=round(hooks.coverage, 6), hooks_matched=len(hooks.matched), hooks_total=len(hooks.hooks),
        edit_script=structure.edit_script, teacher_answer=expected, student_answer=got,
    )


def _failed(reference: ProgramRun, expected, error: StudentError) -> VerificationReport:
    from planner.explain import numbered_lines
    from verifier.hooks import hooks_of

    removed = "\n".join(f"remove {line}" for line in numbered_lines(reference.plan, "t").values())
    return VerificationReport(
        answer_match=0.0, answer_reason=f"the student's program failed: {error.message}", exact_plan=False,
        similarity=0.0, hook_coverage=0.0, hooks_matched=0, hooks_total=len(hooks_of(reference.plan)),
        edit_script=removed, error=error, teacher_answer=expected, student_answer=None,
    )
