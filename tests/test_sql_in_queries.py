"""Every SQL statement of dashboard/ is in dashboard/analysis/queries/ (issue 13: "All SQL in
queries, named by what it answers"), so a reader finds what a page, an export or a refresh asks
the store in one folder, and a change of the tables is one folder's change.

Each module of dashboard/ outside the package is parsed (ast, not grep: a docstring that says
"SELECT" is prose) and may not build, send or spell SQL: no statement constructor or SQL
expression of SQLAlchemy (``sa.select``, ``sa.text``, ``sa.func``, ``sa.case``, ...: only the types
``sa.Engine`` / ``sa.Connection``, the errors ``sa.exc`` and ``make_url`` are allowed), no
``Table.insert()`` / ``.update()`` / ``.delete()``, no ``.execute`` / ``.exec_driver_sql`` /
``execution_options``, no ``pd.read_sql*``, and no string that starts like a statement (SELECT,
INSERT, UPDATE, DELETE, WITH, CREATE, DROP, ALTER, PRAGMA, ANALYZE, EXPLAIN). collectors/store/ is
the store's own layer and keeps its SQL; it is not under dashboard/.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "dashboard"
QUERIES = PACKAGE / "analysis" / "queries"

# (module relative to the repository, what is allowed there, why). Empty: nothing outside the
# package needs SQL. A justified exception is added here with its reason, never by loosening the
# rules below.
EXCEPTIONS: list[tuple[str, str, str]] = []

# Types in signatures, the errors callers catch, and reading a database URL (not SQL).
SA_ALLOWED = {"Engine", "Connection", "exc", "make_url", "URL"}
STATEMENT_CALLS = {"execute", "executemany", "exec_driver_sql", "execution_options"}
TABLE_CHANGES = {"insert", "update", "delete"}  # Table.insert() and friends take no argument
KEYWORDS = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|PRAGMA|ANALYZE|EXPLAIN)\s")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (prose, not SQL)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def sql_in(source: str) -> list[tuple[int, str]]:
    """(line, what) of every piece of SQL in a module's source."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    prose |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}  # read as f-strings
    sa_names = {"sa"} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                         for a in n.names if a.name == "sqlalchemy"}
    pd_names = {"pd"} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                         for a in n.names if a.name == "pandas"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            names = [a.name for a in node.names]
            if node.module not in ("sqlalchemy", "sqlalchemy.engine") or set(names) - SA_ALLOWED:
                found.append((node.lineno, f"from {node.module} import {', '.join(names)}"))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in sa_names and node.attr not in SA_ALLOWED:
                found.append((node.lineno, f"{node.value.id}.{node.attr}"))
            elif node.value.id in pd_names and node.attr.startswith("read_sql"):
                found.append((node.lineno, f"{node.value.id}.{node.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in STATEMENT_CALLS:
                found.append((node.lineno, f".{name}(...)"))
            elif name in TABLE_CHANGES and not node.args and not node.keywords:
                found.append((node.lineno, f".{name}()"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            if KEYWORDS.match(node.value):
                found.append((node.lineno, f"string {node.value.strip()[:40]!r}"))
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and isinstance(head.value, str) and KEYWORDS.match(head.value + " "):
                found.append((node.lineno, f"f-string {head.value.strip()[:40]!r}"))
    return sorted(found)


def test_the_reader_finds_every_form_of_sql():
    source = '''
"""SELECT in a docstring is prose."""
import sqlalchemy as sa
import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

def f(eng: sa.Engine, conn, t, names: dict):
    """WITH a docstring, still prose."""
    q = sa.select(t.c.id).where(sa.func.lower(t.c.name) == "x")
    conn.execute(q)
    conn.exec_driver_sql("DROP TABLE IF EXISTS spool")
    conn.execute(t.insert(), [])
    t.update().where(t.c.id == 1)
    names.update(a=1)  # a dict: not SQL
    [].insert(0, 1)  # a list: not SQL
    pd.read_sql("x", conn)
    s = "SELECT 1"
    g = f"DELETE FROM {t}"
    with_text = "With a word first is a sentence"
    try:
        pass
    except sa.exc.IntegrityError:
        pass
'''
    found = sorted(what for _, what in sql_in(source))
    assert found == sorted([
        "from sqlalchemy import select", "from sqlalchemy.dialects.sqlite import insert",
        "sa.select", "sa.func", ".execute(...)", ".exec_driver_sql(...)", "string 'DROP TABLE IF EXISTS spool'",
        ".execute(...)", ".insert()", ".update()", "pd.read_sql", "string 'SELECT 1'", "f-string 'DELETE FROM'"]), found


def test_no_sql_outside_the_queries_package():
    allowed = {(module, what) for module, what, _ in EXCEPTIONS}
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if QUERIES in path.parents:
            continue
        rel = path.relative_to(ROOT).as_posix()
        for line, what in sql_in(path.read_text(encoding="utf-8")):
            if (rel, what) not in allowed:
                problems.append(f"{rel}:{line}: {what}")
    assert not problems, ("SQL outside dashboard/analysis/queries/ (move it into a function of the package, "
                          "named by what it answers):\n" + "\n".join(problems))


def test_every_exception_is_still_needed():
    for module, what, why in EXCEPTIONS:
        assert why.strip(), f"{module}: an exception needs its reason"
        assert what in [w for _, w in sql_in((ROOT / module).read_text(encoding="utf-8"))], \
            f"{module} no longer has {what}: remove it from EXCEPTIONS"


def test_every_module_of_the_package_is_reachable_as_queries_dot_module():
    # Callers write queries.posts.reach_range(...): a module the package does not import is an
    # AttributeError at the first call, not at import.
    from dashboard.analysis import queries

    modules = sorted(p.stem for p in QUERIES.glob("*.py") if p.stem != "__init__")
    assert sorted(queries.__all__) == modules
    for name in modules:
        assert getattr(queries, name).__name__ == f"dashboard.analysis.queries.{name}"
