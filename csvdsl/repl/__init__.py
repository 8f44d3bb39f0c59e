"""The interactive shell, ``csvdsl repl``: prompt_toolkit editing (highlighting, completion,
history, multi-line pipelines) over a Session, and a script runner when stdin is not a terminal."""

from csvdsl.repl.commands import COMMANDS, KEYS
from csvdsl.repl.complete import DslCompleter
from csvdsl.repl.highlight import DslLexer, highlight
from csvdsl.repl.loop import Repl, banner, run_repl, split_statements
from csvdsl.repl.output import PlainOutput, RichOutput
from csvdsl.repl.shell import Shell

__all__ = ["COMMANDS", "KEYS", "DslCompleter", "DslLexer", "PlainOutput", "Repl", "RichOutput", "Shell", "banner",
           "highlight", "run_repl", "split_statements"]
