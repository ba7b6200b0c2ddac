"""Detect: which report a table is, and which of its columns is which field.

Three ways, tried in order:

1. **A mapping** the user gave (``reach import --mapping``) or saved earlier as a profile for this
   exact header (``mapping.Mapping``, keyed by the header's signature).
2. **Headers**: the registered report whose catalog aliases (every UI language, collectors/catalogs)
   match the header row, as before.
3. **Structure**: a localized export keeps the English export's column order, count and value
   kinds, only the headers are translated. Each report's catalog lists the English column orders
   seen in real files (``layouts``); the table's columns are aligned with each layout by what
   their values look like (ids, URLs, dates, counts, percentages, durations), with any header the
   catalogs know as an anchor. A report is taken only when one alignment is clearly best: the
   columns fit, the required fields are found, and no other alignment or report fits as well.
   Otherwise the file is refused, naming the candidates by structure (never a report that shares
   nothing with it), with a proposed mapping the user can edit and accept (``reach mapping``).

A structural or mapped match hands the parser a copy of the table whose headers are the report's
English names, so platform code reads every language alike; messages still show the file's own
header (``Table.shown_header``).
"""
from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable


from . import values
from .errors import DetectError
from .messages import Message
from .read import Table, header_key
from .registry import Report, reports

NA_STRINGS = frozenset({"", "-", "--", "—", "N/A", "n/a", "NA", "null", "None", "nan", "undefined"})

# Structural detection looks at no more columns than any real export has: a hostile file with a
# million columns is refused by headers alone.
MAX_STRUCTURE_COLUMNS = 400
SAMPLE = 200  # cells per column looked at
FIT = 0.9  # share of a column's sampled cells that must look like the kind
ACCEPT = 0.85  # share of the table's and the layout's columns that must align for a match

KINDS = ("id", "ytid", "url", "date", "datetime", "count", "number", "percent", "duration",
         "text", "label", "any")

_DEFAULT_KINDS = {
    "post_id": "id", "account_id": "id", "url": "url", "published_at": "datetime", "day": "date",
    "captured_at": "datetime", "title": "text", "account_name": "label", "account_handle": "label",
    "post_type": "label", "watch_time_s": "number",
}


def kind_of(report: Report, f: str) -> str:
    return report.kinds.get(f) or _DEFAULT_KINDS.get(f, "count")


@dataclass
class Match:
    """A table recognised as a report, and where each of the report's fields is."""

    report: Report
    positions: dict[str, int]  # field -> column index in the table
    method: str  # "header" | "structure" | "mapping"
    confidence: float = 1.0
    language: str | None = None  # catalog language of the headers, when matched by them
    layout: int | None = None  # which of the report's layouts, when matched by structure
    mapping_name: str | None = None  # where a mapping came from ("profile ab12…", a file name)
    date_order: str | None = None  # "dmy" | "mdy" | "ymd" from a mapping, for ambiguous dates
    # Fields a header match placed by structure: the catalog has no name for them in the file's
    # language, and the English column order says where they are.
    by_position: list[str] = field(default_factory=list)

    def pairs(self, table: Table) -> list[tuple[str, str]]:
        """(the file's header, the field it is read as, or "" when it is not read), in file order."""
        by_pos = {i: f for f, i in self.positions.items()}
        return [(h, by_pos.get(i, "")) for i, h in enumerate(table.header)]

    def describe(self, table: Table) -> Message:
        """How the table was recognised, for the result line of an import."""
        if self.method == "header":
            if self.by_position:
                n = len(self.by_position)
                return Message("detect.how.by_position_one" if n == 1 else "detect.how.by_position",
                               language=self.language, n=n)
            return Message("detect.how.headers", language=self.language or "en")
        if self.method == "structure":
            return Message("detect.how.structure", fit=f"{self.confidence:.0%}")
        return Message("detect.how.mapping", mapping=self.mapping_name)


# --- value kinds --------------------------------------------------------------------------------

_ID = re.compile(r"^(?:\d{3,25}(?:_\d{1,25})?|[A-Za-z0-9_\-:.]{4,64})$")
_YTID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
_HAS_DIGIT = re.compile(r"\d")


# What each kind of value looks like; locale-aware numbers and dates come from collectors/values.py.
_TESTS = {
    "label": lambda s: len(s) <= 60 and "\n" not in s,
    "id": lambda s: bool(_ID.match(s)) and bool(_HAS_DIGIT.search(s)),
    "ytid": lambda s: bool(_YTID.match(s)),
    "url": lambda s: bool(_URL.match(s)),
    "date": values.is_date,
    "datetime": lambda s: values.is_datetime(s) or values.is_date(s),
    "count": values.is_count,
    "number": values.is_number,
    "percent": lambda s: values.is_percent(s) or values.is_number(s),
    "duration": lambda s: values.is_duration(s) or values.is_number(s),
}


def _fits(kind: str, cells: list[str]) -> float:
    """The share of ``cells`` (non-empty, stripped) that look like ``kind``."""
    if not cells or kind in ("any", "text"):
        return 1.0
    if kind not in _TESTS:
        raise ValueError(f"unknown value kind {kind!r}")
    test = _TESTS[kind]
    good = sum(1 for s in cells if test(s))
    # One odd cell in a short column is a Total row or a footer ("Total", "Showing top 500"),
    # not evidence against the kind.
    if len(cells) - good <= 1 and len(cells) >= 4:
        return max(good / len(cells), FIT)
    return good / len(cells)


@dataclass
class _Profile:
    cells: list[str]  # a sample of the column's non-empty cells
    fit: dict[str, float] = field(default_factory=dict)

    def fits(self, kind: str) -> float:
        if kind not in self.fit:
            self.fit[kind] = _fits(kind, self.cells)
        return self.fit[kind]

    @property
    def empty(self) -> bool:
        return not self.cells

    @property
    def plain_text(self) -> bool:
        """Free text, not numbers, dates or ids: a column a "text" field may claim."""
        return not (self.fits("count") >= FIT or self.fits("number") >= FIT or self.fits("date") >= FIT
                    or self.fits("url") >= FIT)


def profiles(table: Table) -> list[_Profile]:
    out = []
    n = len(table.cells)
    # Rows spread over the file: the head of an export may be a Total row or padding.
    step = max(1, n // SAMPLE)
    for i in range(len(table.header)):
        col = table.cells[i].iloc[::step].iloc[:SAMPLE] if n else table.cells[i]
        cells = [s for s in (str(v).strip() for v in col.tolist()) if s not in NA_STRINGS]
        out.append(_Profile(cells))
    return out


# --- alignment of a table's columns with a layout -------------------------------------------------

_NEG = float("-inf")
_SKIP_COLUMN = -1.0  # a column the layout does not have
_SKIP_FIELD = -0.6  # a column of the layout the file does not have
_SPECIFIC = {"id": 1.5, "ytid": 2.0, "url": 2.0, "date": 1.5, "datetime": 1.5, "percent": 1.0,
             "duration": 1.0, "number": 1.0, "count": 1.0, "label": 0.6, "text": 0.6, "any": 0.3}


def _weight(prof: _Profile) -> float:
    if prof.empty:
        return 0.25
    if prof.fits("url") >= FIT or prof.plain_text:
        return 2.0
    return 1.0


def _pair_score(report: Report, f: str, prof: _Profile, header: str) -> float:
    key = header_key(header)
    owner = _anchor(report, key)
    if owner is not None:
        return 4.0 if owner == f else _NEG
    if prof.empty:
        return 0.3  # an empty column fits any field, and says nothing
    kind = kind_of(report, f)
    if prof.fits(kind) < FIT:
        return _NEG
    if kind in ("text", "label") and not prof.plain_text:
        return 0.1
    return _SPECIFIC[kind]


def _anchor(report: Report, key: str) -> str | None:
    """The field whose alias this header is, in this report; None when it names none of them."""
    for f, ks in report.keys.items():
        if key in ks:
            return f
    return None


@dataclass
class Candidate:
    report: Report
    layout: int
    positions: dict[str, int]
    score: float
    confidence: float
    unique: bool  # no other alignment of this layout gives a different mapping at the same score
    missing: list[str]  # required fields not found
    fitted: int  # columns aligned with a field whose kind they fit
    anchored: int = 0  # of those, columns whose header is that field's alias (in any language)
    # Text or URL columns the layout has no place for: a localized export has the English
    # columns, so such a column means another report (or columns in another order).
    unexplained: int = 0

    @property
    def acceptable(self) -> bool:
        return self.unique and not self.missing and self.confidence >= ACCEPT and not self.unexplained


def align(report: Report, layout: list[str], table: Table, profs: list[_Profile], *,
          always_check: bool = False) -> Candidate:
    """The best alignment of the table's columns with the layout (Needleman-Wunsch), and whether
    it is the only one: two alignments with the same score and different mappings (an extra count
    column among counts) mean the structure cannot say which column is which."""
    n, m = len(table.header), len(layout)
    # score[i][j]: best for the first i columns and first j layout fields; ways: distinct optima (capped at 2)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    ways = [[1] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]  # 1 diag, 2 skip column, 3 skip field
    pair = [[_pair_score(report, f, profs[i], table.header[i]) for f in layout] for i in range(n)]
    for i in range(1, n + 1):
        score[i][0] = score[i - 1][0] + _SKIP_COLUMN
        move[i][0] = 2
    for j in range(1, m + 1):
        score[0][j] = score[0][j - 1] + _SKIP_FIELD
        move[0][j] = 3
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            opts = [(score[i - 1][j - 1] + pair[i - 1][j - 1], 1, ways[i - 1][j - 1]),
                    (score[i - 1][j] + _SKIP_COLUMN, 2, ways[i - 1][j]),
                    (score[i][j - 1] + _SKIP_FIELD, 3, ways[i][j - 1])]
            best = max(o[0] for o in opts)
            ties = [o for o in opts if o[0] > _NEG and abs(o[0] - best) < 1e-9]
            score[i][j] = best
            move[i][j] = ties[0][1] if ties else 1
            ways[i][j] = min(2, sum(o[2] for o in ties)) if ties else 1
    # Walk back the chosen path.
    positions: dict[str, int] = {}
    path: list[tuple[int, int]] = []  # (column, layout index) pairs of the chosen alignment
    fitted, fitted_weight, anchored, unexplained = 0, 0.0, 0, 0
    i, j = n, m
    while i > 0 or j > 0:
        mv = move[i][j] if i > 0 and j > 0 else (2 if i > 0 else 3)
        if mv == 1:
            f = layout[j - 1]
            fitted += 1
            anchored += pair[i - 1][j - 1] >= 4.0
            fitted_weight += _weight(profs[i - 1])
            if f not in positions:
                positions[f] = i - 1
            path.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif mv == 2:
            unexplained += _weight(profs[i - 1]) >= 2.0
            i -= 1
        else:
            j -= 1
    total = score[n][m]
    missing = [f for f in report.required if f not in positions]
    # How much of the table is explained, columns weighted by how much they say (a URL or a text
    # column left over is strong evidence of another report; an empty one is none), and how much
    # of the layout was found.
    total_weight = sum(_weight(p) for p in profs)
    confidence = min(fitted_weight / total_weight if total_weight else 0.0, fitted / m if m else 0.0)
    # Skipping an empty column or an empty layout field costs the same either way: only paths
    # that disagree about a column with values make the mapping ambiguous. ``ways`` counts paths,
    # so a tie is checked through the columns that hold values (only for a match worth taking).
    unique = ways[n][m] == 1 or ((always_check or not missing and confidence >= ACCEPT)
                                 and _same_mapping_for_filled(profs, pair, total, path))
    return Candidate(report, 0, positions, total, confidence, unique, missing, fitted, anchored, unexplained)


def _same_mapping_for_filled(profs, pair, total, path) -> bool:
    """Whether every optimal alignment maps the columns that hold values the same way.

    Ties between paths that only differ in where an empty column goes do not matter; anything
    else does. Checked by forbidding, for each filled column, its chosen field: if the best
    score without that pairing is still ``total``, another optimum reads the column differently.
    """
    n, m = len(pair), len(pair[0]) if pair else 0
    for i, j in path:
        if profs[i].empty:
            continue
        banned = [row[:] for row in pair]
        banned[i][j] = _NEG
        if abs(_best_score(banned, n, m) - total) < 1e-9:
            return False
    return True


def _best_score(pair, n, m) -> float:
    prev = [j * _SKIP_FIELD for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [prev[0] + _SKIP_COLUMN] + [0.0] * m
        for j in range(1, m + 1):
            cur[j] = max(prev[j - 1] + pair[i - 1][j - 1], prev[j] + _SKIP_COLUMN, cur[j - 1] + _SKIP_FIELD)
        prev = cur
    return prev[m]


def candidates(table: Table, pool: Iterable[Report] | None = None) -> list[Candidate]:
    """Every report layout aligned with the table, best first."""
    if not 0 < len(table.header) <= MAX_STRUCTURE_COLUMNS:
        return []
    profs = profiles(table)
    keys = set(table.keys)
    out = []
    for r in pool if pool is not None else reports():
        shares = any(ks & keys for ks in r.keys.values())
        for k, layout in enumerate(r.layouts):
            # A layout far longer or shorter than the table cannot reach the confidence needed,
            # and aligning it costs time: only near sizes are tried, and reports that share a
            # header with the table (for the message and the proposal).
            if not layout or (abs(len(layout) - len(table.header)) > max(3, len(layout) // 2) and not shares):
                continue
            c = align(r, layout, table, profs)
            c.layout = k
            out.append(c)
    # Best first: a match worth taking, then what the headers say, then how much fits.
    out.sort(key=lambda c: (c.acceptable, c.anchored, c.confidence, c.score), reverse=True)
    return out


# --- detection ----------------------------------------------------------------------------------

def _match(report: Report, keys: set[str]) -> tuple[set[str], list[str]]:
    found = {f for f, ks in report.keys.items() if ks & keys}
    return found, [f for f in report.required if f not in found]


def header_positions(report: Report, table: Table) -> dict[str, int]:
    pos: dict[str, int] = {}
    keys = table.keys
    for f, ks in report.keys.items():
        for i, k in enumerate(keys):
            if k in ks:
                pos[f] = i
                break
    return pos


def _language(report: Report, table: Table) -> str | None:
    votes: Counter = Counter()
    for k in table.keys:
        for lang in report.languages.get(k, ()):
            votes[lang] += 1
    if not votes:
        return None
    top = max(votes.values())
    best = sorted(lang for lang, v in votes.items() if v == top)
    # A header word shared by English and the file's language ("Date", "Total") is no evidence
    # of English when another language has as many words.
    return next((lang for lang in best if lang != "en"), best[0])


def by_headers(table: Table) -> Match | None:
    keys = set(table.keys)
    best: tuple[int, Report] | None = None
    for r in reports():
        found, missing = _match(r, keys)
        if missing or any(header_key(k) in keys for k in r.excludes):
            continue
        if r.accepts is not None and not r.accepts(table):
            continue
        if best is None or len(found) > best[0]:
            best = (len(found), r)
    if best is None:
        return None
    r = best[1]
    return Match(r, header_positions(r, table), "header", 1.0, _language(r, table))


def complete(table: Table, match: Match) -> Match:
    """A header match in a language whose catalog lacks some of the report's names: the columns
    the headers leave unread are placed by the English column order, when one alignment, agreeing
    with every header found, places them. Only fields with no name in that language are placed
    (a field the catalog names, absent from the header, is absent from the file)."""
    r, lang = match.report, match.language
    if lang in (None, "en") or not r.layouts or len(table.header) > MAX_STRUCTURE_COLUMNS:
        return match
    named = {f for f, ks in r.keys.items() if any(lang in r.languages.get(k, ()) for k in ks)}
    taken = set(match.positions.values())
    unread = [i for i in range(len(table.header)) if i not in taken]
    if not unread:
        return match
    profs = profiles(table)
    if all(profs[i].empty for i in unread):
        return match
    best = None
    for layout in r.layouts:
        c = align(r, layout, table, profs, always_check=True)
        if not c.unique or any(c.positions.get(f, i) != i for f, i in match.positions.items()):
            continue  # two ways to place the columns, or disagrees with a header
        add = {f: i for f, i in c.positions.items()
               if f not in match.positions and f not in named and i in unread and not profs[i].empty}
        if add and (best is None or len(add) > len(best)):
            best = add
    if not best:
        return match
    return dataclasses.replace(match, positions={**match.positions, **best}, by_position=sorted(best))


def as_report(table: Table, match: Match) -> Table:
    """The table with the report's English header names where the match found its fields, so
    accept tests and parsers written against English headers read it; the file's own header is
    kept for messages."""
    header = list(table.header)
    for f, i in match.positions.items():
        header[i] = match.report.columns[f][0] if match.report.columns.get(f) else header[i]
    # Columns the match does not read keep their text unless it is some field's alias that would
    # now be found twice; such a column is blanked so the parser cannot read it by mistake.
    taken = set(match.positions.values())
    for i, h in enumerate(header):
        if i not in taken and _anchor(match.report, header_key(h)) in match.positions:
            header[i] = ""
    return dataclasses.replace(table, header=header, shown_header=list(table.header))


def by_structure(table: Table) -> tuple[Match | None, list[Candidate]]:
    found = candidates(table)
    good = []
    for c in found:
        if not c.acceptable:
            continue
        m = Match(c.report, c.positions, "structure", c.confidence, None, c.layout)
        if c.report.accepts is not None and not c.report.accepts(as_report(table, m)):
            continue
        if any(header_key(k) in set(table.keys) for k in c.report.excludes):
            continue
        good.append((c, m))
    if not good:
        return None, found
    # A report whose own shape test accepted the table (a Meta chart's title names the platform)
    # has evidence beyond column kinds: among equals it outranks reports without such a test.
    top_conf = good[0][0].confidence
    tier = [(c, m) for c, m in good if c.confidence >= top_conf - 0.05]
    confirmed = [(c, m) for c, m in tier if c.report.accepts is not None]
    if confirmed:
        tier = confirmed
    # So does a report some of whose headers the catalogs know, over one that knows none.
    most = max(c.anchored for c, _ in tier)
    tier = [(c, m) for c, m in tier if c.anchored == most]
    good = tier
    top = good[0][0]
    rivals = [c for c, _ in good[1:] if c.report.name != top.report.name or c.positions != top.positions]
    if rivals:
        return None, found
    return good[0][1], found


def detect(table: Table, mappings=None) -> Match:
    """The report this table is and where its fields are; DetectError (with a proposal) if none."""
    if mappings is not None:
        m = mappings.match(table)
        if m is not None:
            return m
    m = by_headers(table)
    if m is not None:
        return complete(table, m)
    m, found = by_structure(table)
    if m is not None:
        return m
    from .mapping import propose  # the proposal is only needed when a file is refused

    err = DetectError(_unknown_message(table, found))
    err.proposal = propose(table, found)
    raise err


def _unknown_message(table: Table, found: list[Candidate]) -> str:
    header = ", ".join(h for h in table.header if h) or "(empty)"
    keys = set(table.keys)
    lines = [Message("detect.unknown", source=table.source, header=_short(header, 300))]
    named = [c for c in found if c.anchored or c.confidence >= 0.6]
    # Best candidate per report, by structure.
    seen, best = set(), []
    for c in named:
        if c.report.name not in seen:
            seen.add(c.report.name)
            best.append(c)
    if best:
        parts = []
        for c in best[:3]:
            why = (Message("detect.why.ambiguous") if not c.unique
                   else Message("detect.why.missing", fields=", ".join(c.missing)) if c.missing
                   else Message("detect.why.few") if c.confidence < ACCEPT
                   else Message("detect.why.unexplained") if c.unexplained
                   else Message("detect.why.shape") if c.report.accepts is not None
                   and not c.report.accepts(as_report(table, Match(c.report, c.positions, "structure")))
                   else Message("detect.why.others"))
            parts.append(Message("detect.candidate", title=c.report.title, name=c.report.name, fitted=c.fitted,
                                 total=max(len(table.header), len(c.report.layouts[c.layout])), why=why))
        lines.append(Message("detect.closest_structure", candidates=_joined(parts)))
    else:
        # By headers: only a report that shares a column with the file is named.
        scored = []
        for r in reports():
            f, missing = _match(r, keys)
            if f - {"_date"}:
                scored.append((len(f), r, missing))
        if scored:
            n, r, missing = max(scored, key=lambda s: s[0])
            need = [Message("detect.need", field=f, names=", ".join(r.columns[f][:3])) for f in missing]
            lines.append(Message("detect.closest_header", title=r.title, name=r.name, n=n, need=_joined(need))
                         if need else Message("detect.closest_header_shape", title=r.title, name=r.name, n=n))
        else:
            lines.append(Message("detect.nothing"))
    # Sentences of the catalog (messages.py), each written in the reader's language.
    return Message.concat(*[p for i, line in enumerate(lines) for p in ((" ", line) if i else (line,))])


def _joined(parts: list[Message]) -> Message:
    """Messages listed with the catalog's separator ("; ", in Chinese "；")."""
    sep = Message("sep.list")
    return Message.concat(*[p for i, x in enumerate(parts) for p in ((sep, x) if i else (x,))])


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
