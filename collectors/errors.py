"""Errors raised while reading, detecting, parsing and storing export files.

Every error a user can cause is one of these, and its message says which file, where, what
was found and what was expected, so the command line prints it without a traceback.

    ReachError
    ├── UsageError           an option's value the program or the database cannot honour (exit 2)
    ├── ReadError            the bytes could not be turned into a table (encoding, ZIP, XLSX),
    │                        or they are not an export at all (a PDF, a document, an image)
    ├── DetectError          no known report matches the header row
    ├── StructureError       the table is a known report but is broken as a whole
    └── StoreError           the database refused the file (schema too new, locked, ...)

Row-level problems are not exceptions: they are ``RowProblem`` values collected while parsing,
reported per file and stored with the import record, and the rest of the file is imported.
"""
from __future__ import annotations

from dataclasses import dataclass


class ReachError(Exception):
    """Base class of every error a user mistake or a bad file can cause."""


class UsageError(ReachError):
    """The command line was given a value it cannot use (a filter naming no stored influencer, a
    port another program holds): the CLI exits 2, as click does for a malformed option, rather
    than 1, which says that the work itself failed."""


class ReadError(ReachError):
    pass


class DetectError(ReachError):
    pass


class StructureError(ReachError):
    def __init__(self, *args, platform: str | None = None):
        super().__init__(*args)
        # The platform of the report the table was detected as, when it was: a file whose every
        # row was rejected is still that platform's file (the freshness line names it so).
        self.platform = platform


class StoreError(ReachError):
    pass


@dataclass(frozen=True)
class RowProblem:
    """One rejected row: where it is, what was there, what should have been."""

    source: str  # file name, with ZIP member and/or sheet after "!"
    line: int | None  # 1-based physical line in the file (row number in a sheet)
    column: str  # the column header as written in the file
    value: str
    expected: str

    def __str__(self) -> str:
        from .messages import Message  # messages imports nothing of collectors: no cycle, but keep it late

        where = Message("problem.where", source=self.source, line=self.line) if self.line else self.source
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return Message("problem", where=where, column=self.column, value=repr(shown), expected=self.expected)
