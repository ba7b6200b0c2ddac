"""Header catalogs: what each report's columns are called in every UI language, as data.

Platforms write their exports in the UI language of whoever clicked "Export", so the header of
one report comes in many languages. The names live in TOML files, one per platform, in
``collectors/catalogs/`` (and in any folder named by ``REACH_CATALOGS``, separated by ``:``),
so a translator adds a language by adding a table, without touching code:

    [content]                       # the report's catalog entry ("x:content")
    layouts = [["post_id", "published_at", ...]]   # English column orders seen in real files
    kinds = { _engagements = "count" }             # value kinds of private fields (detect.KINDS)

    [content.en]
    post_id = "Post id"                            # a header, or a list of variants
    published_at = ["Date"]

    [content.vi]
    _source = "a real export published in github.com/..., or a help page's address"
    post_id = "ID bài viết"

A report's table may also say how its values are written in every language, when the platform
writes machine values whatever the UI language: ``date_order = "mdy"`` (Meta's 01/28/2026) and
``decimal_mark = "."`` (YouTube's 87568.6825); a value that only the other convention can read
still decides its own column (collectors/values.py).

Language tables are named by BCP 47 tags (``zh-Hans``, ``pt-BR``, ``vi``). Keys starting with
``_source``/``_evidence`` describe the table; every other key is a field of the report.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

BUILTIN = Path(__file__).with_name("catalogs")

# The languages the issue tracker asks every report to cover, by tag, with their own names.
LANGUAGES = {
    "en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文", "ja": "日本語", "ko": "한국어",
    "vi": "Tiếng Việt", "th": "ไทย", "id": "Bahasa Indonesia", "ms": "Bahasa Melayu",
    "es": "Español", "pt-BR": "Português (Brasil)", "fr": "Français", "de": "Deutsch",
    "it": "Italiano", "ru": "Русский", "tr": "Türkçe", "ar": "العربية", "pl": "Polski",
}

_META_KEYS = ("_source", "_evidence", "_seen", "_note")


@dataclass
class Entry:
    """One report's catalog entry: aliases per field and language, layouts, value kinds."""

    key: str  # "x:content"
    aliases: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # lang -> field -> names
    sources: dict[str, str] = field(default_factory=dict)  # lang -> where the names come from
    evidence: dict[str, str] = field(default_factory=dict)  # lang -> "export" | "help" | "code" | ...
    layouts: list[list[str]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)  # any other key of the entry's table
    files: list[str] = field(default_factory=list)

    def columns(self) -> dict[str, list[str]]:
        """field -> every alias in every language, English first (messages show the first)."""
        out: dict[str, list[str]] = {}
        langs = sorted(self.aliases, key=lambda lang: (lang != "en", lang))
        for lang in langs:
            for f, names in self.aliases[lang].items():
                bucket = out.setdefault(f, [])
                bucket += [n for n in names if n not in bucket]
        return out

    def languages(self) -> list[str]:
        return sorted(self.aliases, key=lambda lang: (lang != "en", lang))


def _dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("REACH_CATALOGS", "").split(os.pathsep) if p.strip()]
    return [BUILTIN, *extra]


def _names(value, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{where}: expected a header name or a list of them, found {value!r}")


@lru_cache(maxsize=None)
def _load(dirs: tuple[Path, ...]) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            platform = path.stem
            try:
                doc = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise ValueError(f"header catalog {path}: {e}") from None
            for report, body in doc.items():
                if not isinstance(body, dict):
                    continue
                e = entries.setdefault(f"{platform}:{report}", Entry(f"{platform}:{report}"))
                e.files.append(str(path))
                for k, v in body.items():
                    if k == "layouts":
                        e.layouts += [list(x) for x in v]
                    elif k == "kinds":
                        e.kinds.update(v)
                    elif isinstance(v, dict) and k not in e.extra:  # a language table
                        lang = e.aliases.setdefault(k, {})
                        for f, names in v.items():
                            if f == "_source":
                                e.sources[k] = str(names)
                            elif f == "_evidence":
                                e.evidence[k] = str(names)
                            elif f in _META_KEYS:
                                continue
                            else:
                                bucket = lang.setdefault(f, [])
                                bucket += [n for n in _names(names, f"{path} [{report}.{k}] {f}") if n not in bucket]
                    else:
                        e.extra[k] = v
    return entries


def entries() -> dict[str, Entry]:
    return _load(tuple(_dirs()))


def entry(key: str) -> Entry:
    """The catalog entry ``platform:report``; an empty one when no file names it."""
    return entries().get(key) or Entry(key)


def reload() -> None:
    """Forget loaded catalogs (tests that point REACH_CATALOGS elsewhere)."""
    _load.cache_clear()


# --- docs -----------------------------------------------------------------------------------------

DOC_START = "<!-- languages:start (made by: python -m collectors.catalog docs/platforms.md) -->"
DOC_END = "<!-- languages:end -->"
EVIDENCE = {"export": "seen in a real export", "code": "a parser of real exports", "help": "the platform's help or UI",
            "translation": "unconfirmed"}


def languages_markdown() -> str:
    """The table of languages per report that docs/platforms.md shows, from the catalogs."""
    from .registry import reports

    by_entry: dict[str, list[str]] = {}
    for r in reports():
        if r.catalog:
            by_entry.setdefault(r.catalog, []).append(r.name)
    lines = [DOC_START, "",
             "| report | languages (evidence: E seen in a real export, C a parser of real exports, "
             "H the platform's help or UI, T unconfirmed) | missing of the 18 |",
             "|---|---|---|"]
    mark = {"export": "E", "code": "C", "help": "H", "translation": "T"}
    for key in sorted(by_entry):
        e = entry(key)
        langs = e.languages()
        cells = [f"{lang} ({mark.get(e.evidence.get(lang, 'export' if lang == 'en' else ''), '?')})" for lang in langs]
        missing = [lang for lang in LANGUAGES if lang not in langs]
        lines.append(f"| {', '.join(sorted(by_entry[key]))} | {', '.join(cells)} | {', '.join(missing) or '—'} |")
    lines += ["", DOC_END]
    return "\n".join(lines)


def write_docs(path: str) -> bool:
    """Put the languages table into ``path`` between its markers; True when the file changed."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if DOC_START not in text or DOC_END not in text:
        raise SystemExit(f"{path}: the markers {DOC_START!r} ... {DOC_END!r} are missing")
    head, rest = text.split(DOC_START, 1)
    _, tail = rest.split(DOC_END, 1)
    new = head + languages_markdown() + tail
    if new != text:
        p.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # python -m collectors.catalog docs/platforms.md
    import sys

    for arg in sys.argv[1:] or ["docs/platforms.md"]:
        print(f"{arg}: {'updated' if write_docs(arg) else 'already current'}")
