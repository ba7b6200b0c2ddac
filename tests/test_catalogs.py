"""Header catalogs are data: well-formed, sourced, documented, and extendable without code."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from collectors import catalog
from collectors.detect import detect
from collectors.pipeline import Importer
from collectors.registry import Report, reports

from localize import english_tables, translate

ROOT = Path(__file__).resolve().parents[1]


def _entries():
    return sorted(catalog.entries().items())


def test_every_language_table_says_where_its_headers_come_from():
    for key, e in _entries():
        for lang in e.languages():
            if lang == "en":
                continue
            assert e.sources.get(lang), f"{key} [{lang}] has no _source"
            assert e.evidence.get(lang) in catalog.EVIDENCE, f"{key} [{lang}] _evidence is {e.evidence.get(lang)!r}"


def test_a_language_names_only_fields_its_report_has():
    by_key: dict[str, list[Report]] = {}
    for r in reports():
        if r.catalog:
            by_key.setdefault(r.catalog, []).append(r)
    for key, e in _entries():
        known = set()
        for r in by_key.get(key, []):
            known |= set(r.columns) | set(r.required)
        for layout in e.layouts:
            known |= set(layout)
        if not by_key.get(key):
            continue  # an entry a parser reads itself (word lists), not a report's columns
        for lang, fields in e.aliases.items():
            stray = set(fields) - known
            assert not stray, f"{key} [{lang}] names fields no report or layout has: {sorted(stray)}"


def test_layouts_name_each_field_once():
    for key, e in _entries():
        for layout in e.layouts:
            dup = {f for f in layout if layout.count(f) > 1}
            assert not dup, f"{key}: a layout names {sorted(dup)} twice"


def test_docs_list_the_languages_of_every_report_as_the_catalogs_do():
    text = (ROOT / "docs" / "platforms.md").read_text(encoding="utf-8")
    assert catalog.languages_markdown() in text, "run: python -m collectors.catalog docs/platforms.md"


def test_each_platform_page_names_the_source_of_each_language():
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "platforms").glob("*.md")}
    for key, e in _entries():
        platform = key.split(":")[0]
        page = pages.get(platform)
        assert page is not None, f"docs/platforms/{platform}.md is missing"
        for lang in e.languages():
            if lang != "en":
                names = [lang] + ([catalog.LANGUAGES[lang]] if lang in catalog.LANGUAGES else [])
                assert any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", page) for n in names), \
                    f"docs/platforms/{platform}.md does not name the source of {key} [{lang}]"


def test_a_translator_adds_a_language_in_a_catalog_folder_without_touching_code(tmp_path, monkeypatch, sqlite_url):
    name, t = next((n, t) for n, t in english_tables() if detect(t).report.name == "x.content")
    r = detect(t).report
    # Esperanto: in no catalog. A translator writes one table for it, in a folder of their own.
    words = {"post_id": "Afiŝo id", "published_at": "Dato", "title": "Teksto", "url": "Ligilo",
             "impressions": "Montroj", "likes": "Ŝatoj"}
    (tmp_path / "x.toml").write_text(
        "[content.eo]\n_source = \"a test\"\n_evidence = \"translation\"\n"
        + "".join(f'{f} = "{w}"\n' for f, w in words.items()), encoding="utf-8")
    header = []
    for h in t.header:
        f = next((f for f, ks in r.keys.items() if h.casefold() in ks), None)
        header.append(words.get(f, h + " eo"))
    eo = dataclasses.replace(t, header=header)
    monkeypatch.setenv("REACH_CATALOGS", str(tmp_path))
    catalog.reload()
    try:
        fresh = Report(**{f.name: getattr(r, f.name) for f in dataclasses.fields(Report) if f.init})
        assert fresh.columns["impressions"][0] == "Impressions" and "Montroj" in fresh.columns["impressions"]
        assert "eo" in fresh.languages[("montroj")]
    finally:
        monkeypatch.delenv("REACH_CATALOGS")
        catalog.reload()
    # End to end: `reach import` with the folder named reads the Esperanto file by its headers.
    import csv
    import io
    import os
    import subprocess
    import sys

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(eo.header)
    w.writerows(eo.cells.astype(str).values.tolist())
    f = tmp_path / "eo.csv"
    f.write_text(out.getvalue(), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "dashboard.cli", "import", str(f), "--db", sqlite_url],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={**os.environ, "REACH_CATALOGS": str(tmp_path)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "x.content" in run.stdout and "by structure" not in run.stdout


def test_a_broken_catalog_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "x.toml").write_text("[content.eo\n", encoding="utf-8")
    monkeypatch.setenv("REACH_CATALOGS", str(tmp_path))
    catalog.reload()
    try:
        with pytest.raises(ValueError) as e:
            catalog.entries()
        assert str(tmp_path / "x.toml") in str(e.value)
    finally:
        monkeypatch.delenv("REACH_CATALOGS")
        catalog.reload()


@pytest.mark.parametrize("name,table", [pytest.param(n, t, id=t.source.rsplit("!", 1)[-1][:40])
                                         for n, t in english_tables()])
def test_english_headers_are_detected_as_english(name, table):
    m = detect(table)
    assert m.method == "header" and m.language in (None, "en"), (m.report.name, m.language)
