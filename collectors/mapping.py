"""Column mappings: how to read a file that neither headers nor structure recognise.

A mapping names a report and, for each column of the file's header, the report field it holds (or
nothing). ``reach mapping suggest FILE`` writes the proposal detection made as an editable TOML
file; ``reach import FILE --mapping FILE.toml`` imports with it and saves it as a **profile**, keyed
by the header's signature, so a later file with the same header imports without asking
(``reach mapping list|remove``; the Data page offers the same step). The archive keeps the mapping
a file was imported with, so ``reach rebuild`` replays it.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field

from .detect import Candidate, Match, header_positions, kind_of
from .errors import ReachError
from .messages import Message
from .read import Table, header_key
from .registry import Report, get, reports

DATE_ORDERS = ("dmy", "mdy", "ymd")


class MappingError(ReachError):
    """A mapping file that cannot be used: it names what is wrong, where."""


def signature(table: Table) -> str:
    """The header's identity: the same columns, in the same order, in any letter case."""
    header = table.shown_header if table.shown_header is not None else table.header
    text = "\x1f".join(header_key(h) for h in header)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Mapping:
    report: str  # a registered report's name
    columns: list[tuple[str, str]]  # (the file's header, field or ""), in file order
    signature: str
    date_order: str | None = None
    name: str = ""  # where it came from, for messages: "mapping.toml", "profile 3f1a…"

    def validate(self, where: str | None = None) -> "Mapping":
        where = where or self.name or Message("mapping.name.default")
        names = {r.name for r in reports()}
        if self.report not in names:
            raise MappingError(Message("mapping.unknown_report", where=where, report=self.report,
                                       known=", ".join(sorted(names))))
        r = get(self.report)
        for h, f in self.columns:
            if f and f not in r.columns:
                raise MappingError(Message("mapping.unknown_field", where=where, header=h, field=f, report=self.report,
                                           fields=", ".join(r.columns)))
        used = [f for _, f in self.columns if f]
        twice = sorted({f for f in used if used.count(f) > 1})
        if twice:
            raise MappingError(Message("mapping.field_twice", where=where,
                                       fields=", ".join(repr(f) for f in twice)))
        missing = [f for f in r.required if f not in used]
        if missing:
            raise MappingError(Message("mapping.missing", where=where, report=self.report, fields=", ".join(missing)))
        if self.date_order not in (None, *DATE_ORDERS):
            raise MappingError(Message("mapping.date_order", where=where, value=self.date_order,
                                       orders=", ".join(DATE_ORDERS)))
        return self

    def applies_to(self, table: Table) -> bool:
        return signature(table) == self.signature

    def match(self, table: Table) -> Match:
        r = get(self.report)
        positions = {f: i for i, (_, f) in enumerate(self.columns) if f}
        return Match(r, positions, "mapping", 1.0, None, None,
                     self.name or Message("mapping.name.signature", signature=self.signature),
                     self.date_order)

    # --- as data -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"report": self.report, "signature": self.signature,
             "columns": [[h, f] for h, f in self.columns]}
        if self.date_order:
            d["date_order"] = self.date_order
        return d

    @classmethod
    def from_dict(cls, d: dict, name: str = "") -> "Mapping":
        return cls(d["report"], [(h, f) for h, f in d["columns"]], d["signature"], d.get("date_order"), name)

    @classmethod
    def from_toml(cls, text: str, name: str) -> "Mapping":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise MappingError(Message("mapping.not_toml", source=name, detail=str(e))) from None
        cols = doc.get("columns")
        if not isinstance(doc.get("report"), str) or not isinstance(cols, list):
            raise MappingError(Message("mapping.needs", source=name))
        columns = []
        for k, c in enumerate(cols, 1):
            if not isinstance(c, dict) or not isinstance(c.get("header"), str):
                raise MappingError(Message("mapping.column_header", source=name, k=k))
            f = c.get("field", "")
            if not isinstance(f, str):
                raise MappingError(Message("mapping.field_text", source=name, header=c["header"], found=repr(f)))
            columns.append((c["header"], f.strip()))
        sig = doc.get("signature") or hashlib.sha256(
            "\x1f".join(header_key(h) for h, _ in columns).encode("utf-8")).hexdigest()[:16]
        order = doc.get("date_order") or None
        return cls(doc["report"], columns, sig, order, Message("mapping.name.file", file=name)).validate(name)

    def to_toml(self, table: Table | None = None, found: list[Candidate] | None = None,
                file_hint: str = "FILE") -> str:
        r = get(self.report) if self.report else None
        lines = [
            f"# Campaign Reach column mapping{f' for {table.source}' if table is not None else ''}.",
            '# Check the field of each column ("" leaves it out), then import with:',
            f"#   reach import {file_hint} --mapping THIS_FILE.toml",
            "# The mapping is then saved for every later file with this exact header (reach mapping list).",
        ]
        if found:
            fits, seen = [], set()
            for c in found:
                if c.report.name in seen or len(fits) == 4:
                    continue
                seen.add(c.report.name)
                fits.append(f"{c.report.name} ({c.fitted} columns fit{'' if c.unique else ', more than one way'})")
            lines.append("# Reports whose structure is closest: " + "; ".join(fits))
        if r is not None:
            fields = ", ".join(f"{f} ({kind_of(r, f)})" for f in r.columns)
            lines += _wrap(f"# Fields of {r.name}: {fields}")
            lines.append(f"# Required: {', '.join(r.required)}")
        lines.append("# Other reports: " + ", ".join(sorted(x.name for x in reports())))
        lines += ["", f"report = {_q(self.report)}", f"signature = {_q(self.signature)}",
                  f"date_order = {_q(self.date_order)}" if self.date_order
                  else '# date_order = "dmy"   # or "mdy", "ymd": only when the file\'s dates are ambiguous', ""]
        samples = _samples(table) if table is not None else {}
        for i, (h, f) in enumerate(self.columns):
            lines.append("[[columns]]")
            lines.append(f"header = {_q(h)}")
            ex = samples.get(i)
            lines.append(f"field = {_q(f)}" + (f"   # e.g. {ex}" if ex else ""))
            lines.append("")
        return "\n".join(lines)


def _q(s: str | None) -> str:
    return json.dumps(s or "", ensure_ascii=False)


def _wrap(text: str, width: int = 100) -> list[str]:
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = "#  " + word
        else:
            line = f"{line} {word}" if line else word
    return out + [line]


def _samples(table: Table) -> dict[int, str]:
    out = {}
    for i in range(len(table.header)):
        vals = [str(v).strip().replace("\n", " ") for v in table.cells[i].head(50).tolist()]
        vals = [v for v in vals if v][:2]
        if vals:
            out[i] = ", ".join(v if len(v) <= 40 else v[:39] + "…" for v in vals)
    return out


@dataclass
class Mappings:
    """The mappings an import may use: the one given on the command line, then saved profiles."""

    explicit: list[Mapping] = field(default_factory=list)
    profiles: list[Mapping] = field(default_factory=list)
    used: list[Mapping] = field(default_factory=list)

    def match(self, table: Table) -> Match | None:
        for m in (*self.explicit, *self.profiles):
            if m.applies_to(table):
                self.used.append(m)
                return m.match(table)
        return None


def propose(table: Table, found: list[Candidate]) -> Mapping:
    """The mapping detection would suggest for a table it could not recognise."""
    sig = signature(table)
    if found and found[0].confidence >= 0.3:
        c = found[0]
        by_pos = {i: f for f, i in c.positions.items()}
        return Mapping(c.report.name, [(h, by_pos.get(i, "")) for i, h in enumerate(table.header)], sig)
    best: tuple[int, Report, dict] | None = None
    for r in reports():
        pos = header_positions(r, table)
        if pos and (best is None or len(pos) > best[0]):
            best = (len(pos), r, pos)
    if best is None:
        return Mapping("", [(h, "") for h in table.header], sig)
    by_pos = {i: f for f, i in best[2].items()}
    return Mapping(best[1].name, [(h, by_pos.get(i, "")) for i, h in enumerate(table.header)], sig)


def describe(pairs: list[tuple[str, str]], limit: int = 40) -> str:
    """'"Mã bài" → post_id, "Ngày" → published_at, …' for a result line."""
    shown = [f'"{h}" → {f}' for h, f in pairs if f][:limit]
    rest = sum(1 for _, f in pairs if not f)
    if not rest:
        return ", ".join(shown)
    return Message("mapping.not_read_one" if rest == 1 else "mapping.not_read", shown=", ".join(shown), n=rest)
