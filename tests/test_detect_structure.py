"""Structural detection: an export in a language no catalog has is recognised by its column order
and what its values look like, and imports exactly as the English one does; when the structure
cannot say which report or which column, the file is refused with the candidates named."""
from __future__ import annotations

import dataclasses
import time

import pytest

from collectors.detect import candidates, detect
from collectors.errors import DetectError
from collectors.read import read_bytes
from collectors.registry import get

from localize import english_tables, made_up, parse, rows_equal, translate

# Reports whose English export has one column order and whose columns' kinds pin every field:
# in any language they must import by structure alone.
BY_STRUCTURE = {"x.content", "x.tweet_activity", "x.tweet_activity_daily", "facebook.posts",
                "youtube.table_data", "youtube.chart_data", "linkedin.content_metrics", "linkedin.content_posts",
                "tiktok.content"}
# Reports whose structure alone is ambiguous: X's Overview comes in two column orders of thirteen
# counts each, a YouTube Totals file of one metric is "a day and a number" like a Meta chart, and
# Instagram's post exports order their counts differently from market to market (English and
# Indonesian real files), so eighteen columns of counts cannot be told apart by their values.
AMBIGUOUS = {"x.overview", "youtube.totals", "instagram.posts"}


def _cases():
    out = []
    for name, t in english_tables():
        r = detect(t).report
        out.append(pytest.param(name, t, r.name, id=f"{r.name}:{t.source.rsplit('!', 1)[-1][:30]}"))
    return out


CASES = _cases()


@pytest.mark.parametrize("name,table,report", CASES)
def test_a_made_up_language_imports_by_structure_like_english(name, table, report):
    english = parse(name, table)
    alien, known = translate(table, english.report, None)
    assert known == 0 and not set(alien.header) & set(table.header)
    if report in AMBIGUOUS:
        with pytest.raises(DetectError) as e:
            detect(alien)
        # The refusal names the report it could be, and proposes a mapping.
        assert get(report).title in str(e.value) and e.value.proposal is not None
        return
    m = detect(alien)
    assert m.method in ("structure", "header")  # a Meta chart is known by its title's platform
    assert m.report.name == report
    if report in BY_STRUCTURE:
        assert m.method == "structure" and m.confidence >= 0.85
    got = parse(name, alien)
    assert got.report.name == report
    rows_equal(got.rows, english.rows)
    assert got.skipped == english.skipped and len(got.problems) == len(english.problems)


@pytest.mark.parametrize("name,table,report", [c for c in CASES if c.values[2] in BY_STRUCTURE])
def test_a_rejected_row_names_the_column_as_the_file_writes_it(name, table, report):
    english = parse(name, table)
    alien, _ = translate(table, english.report, None)
    m = detect(alien)
    # Break one numeric cell of a metric the report stores.
    metric = next(f for f in ("impressions", "views", "likes", "comments") if f in m.positions)
    i = m.positions[metric]
    cells = alien.cells.copy()
    # The last row with a value: the first may be a Total row, which is left out, not rejected.
    row = next(k for k in reversed(range(len(cells))) if str(cells.iat[k, i]).strip() not in ("", "0"))
    cells.iat[row, i] = "lots"
    got = parse(name, dataclasses.replace(alien, cells=cells))
    probs = [p for p in got.problems if p.value == "lots"]
    assert probs and probs[0].column == alien.header[i] and probs[0].line == alien.lines[row]


def test_an_extra_count_column_makes_the_structure_ambiguous_and_the_file_is_refused():
    name, t = next((n, t) for n, t in english_tables() if detect(t).report.name == "x.content")
    alien, _ = translate(t, get("x.content"), None)
    # Drop one of the thirteen count columns: which one is missing cannot be known.
    keep = [i for i in range(len(alien.header)) if i != 6]
    cut = dataclasses.replace(alien, header=[alien.header[i] for i in keep],
                              cells=alien.cells[keep].set_axis(range(len(keep)), axis=1))
    with pytest.raises(DetectError) as e:
        detect(cut)
    msg = str(e.value)
    assert "X account analytics, Content export [x.content]" in msg and "more than one way" in msg
    assert e.value.proposal.report == "x.content"


def test_a_refusal_never_names_a_report_that_shares_nothing_with_the_file():
    text = "Farbe,Gewicht,Notiz\nrot,schwer,ein langer Satz über nichts\nblau,leicht,noch einer\n"
    t = read_bytes("notes.csv", text.encode())[0]
    with pytest.raises(DetectError) as e:
        detect(t)
    assert "No known report has its columns or its structure" in str(e.value)
    assert "Closest" not in str(e.value)


def test_known_headers_anchor_the_alignment_and_a_contradicting_header_forbids_it():
    name, t = next((n, t) for n, t in english_tables() if detect(t).report.name == "x.content")
    r = get("x.content")
    alien, _ = translate(t, r, None)
    # Half the headers English, half unknown: the known ones hold their fields.
    mixed = dataclasses.replace(alien, header=[h if i % 2 else t.header[i] for i, h in enumerate(alien.header)])
    m = detect(mixed)
    assert m.method == "structure" and m.positions["post_id"] == 0 and m.positions["impressions"] == 4
    # A header that names another field where the layout puts impressions: no structural match.
    wrong = dataclasses.replace(alien, header=[("Likes" if i == 4 else h) for i, h in enumerate(alien.header)])
    cands = [c for c in candidates(wrong) if c.report.name == "x.content"]
    assert all(c.positions.get("impressions") != 4 for c in cands)


def test_a_very_wide_file_is_refused_without_structural_work():
    header = ",".join(f"c{i}" for i in range(5000))
    t = read_bytes("wide.csv", (header + "\n" + ",".join("1" for _ in range(5000)) + "\n").encode())[0]
    start = time.perf_counter()
    with pytest.raises(DetectError):
        detect(t)
    assert candidates(t) == []
    assert time.perf_counter() - start < 30  # generous: the point is that nothing quadratic runs


def test_values_not_headers_decide_the_kind_of_a_column():
    # A URL column where the X content layout wants post text: the alignment must not put the
    # permalink into the title.
    name, t = next((n, t) for n, t in english_tables() if detect(t).report.name == "x.content")
    alien, _ = translate(t, get("x.content"), None)
    swapped = alien.cells.copy()
    swapped[[2, 3]] = swapped[[3, 2]].to_numpy()
    with pytest.raises(DetectError):
        detect(dataclasses.replace(alien, cells=swapped))


def test_columns_a_language_has_no_name_for_are_placed_by_the_english_order():
    from collectors import catalog

    name, t = next((n, t) for n, t in english_tables() if detect(t).report.name == "x.content")
    r = get("x.content")
    lang = next(lang for lang in catalog.entry(r.catalog).languages()
                if lang != "en" and all(catalog.entry(r.catalog).aliases[lang].get(f) for f in r.required)
                and any(not catalog.entry(r.catalog).aliases[lang].get(f) for f in r.layouts[0]))
    local, _ = translate(t, r, lang)
    names = catalog.entry(r.catalog).aliases[lang]
    unnamed = sorted(f for f in r.layouts[0] if not names.get(f))
    m = detect(local)
    assert m.method == "header" and m.language == lang and m.by_position == unnamed
    assert all(local.header[m.positions[f]] == made_up(t.header[r.layouts[0].index(f)]) for f in unnamed)
    rows_equal(parse(name, local).rows, parse(name, t).rows)
    # A field the language does name but the file lacks is not invented from another column.
    named = next(f for f in r.layouts[0] if names.get(f) and f not in r.required)
    i = r.layouts[0].index(named)
    cut = dataclasses.replace(local, header=[h for k, h in enumerate(local.header) if k != i],
                              cells=local.cells.drop(columns=i).set_axis(range(len(local.header) - 1), axis=1))
    m2 = detect(cut)
    assert named not in m2.positions
