"""Error messages that are still bad. Each case states what a good message would say and is
expected to fail (strict): when someone fixes one, its test passes and must move to the
error fixtures in tests/fixtures/errors."""

from __future__ import annotations

import pytest

from csvdsl.errors import DslError
from csvdsl.program import run_program
from csvdsl.tables import Catalog

STILL_BAD = [
    # `left` is read as the table name, so the message talks about `on` instead of the missing table.
    ("people | join left on id", "join needs a table"),
    # A line starting with `and` ends the statement above, and `and` is read as a new table's name.
    ("people | filter age > 1\n  and city == \"London\"", "put `and` at the end of the line before"),
    # An unclosed `(` carries the statement onto the next line, so the error lands inside `answer`
    # ("unexpected `n`", "did you mean `in`?") instead of naming the parenthesis left open.
    ("n = people | aggregate n = count(\nanswer n.n", "`(` on line 1 is not closed"),
]


@pytest.mark.xfail(strict=True, reason="message still bad; see the comment on each case")
@pytest.mark.parametrize("program, wanted", STILL_BAD)
def test_message_is_good(program, wanted):
    with pytest.raises(DslError) as caught:
        run_program(program, Catalog.from_specs(["tests/data/people.csv"]))
    assert wanted in caught.value.render()
