"""YouTube importer: the four real Studio exports in ../shared and fixtures made here in Studio's format.

Expected counts and sums are recomputed from the raw bytes with the csv module, never with the
code under test. Fixtures follow what the real files show: UTF-8 without BOM, LF, quoting only
where needed, a Total row right under the header, ids that start with "-" written with a space.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from collectors.errors import DetectError
from collectors.parse import Context, detect, parse_table
from collectors.read import read_bytes

REAL = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real"
YT = REAL / "youtube"
OISIN = YT / "oisinqueva_table_data.csv"
KRISH = YT / "krishp1010_table_data.csv"
GERMAN = YT / "raphaeloe_de_tabellendaten.csv"
CHART = YT / "priyankapatel05_chart_data.csv"


def real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample {path} is not available")
    return path


def parse_all(name: str, data: bytes):
    ctx = Context(name)
    return [parse_table(t, ctx) for t in read_bytes(name, data)]


def parse_one(name: str, data: bytes):
    (p,) = parse_all(name, data)
    return p


def raw_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def num(cell: str) -> float:
    return float(cell) if cell.strip() else 0.0


def csv_bytes(header, rows, *, newline="\n") -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


# --- Table data (real files) ------------------------------------------------------------------

def test_the_real_english_table_data_keeps_every_video_and_leaves_out_the_total_row():
    header, rows = raw_rows(real(OISIN))
    col = {h: i for i, h in enumerate(header)}
    assert rows[0][0] == "Total"
    videos = rows[1:]
    p = parse_one(OISIN.name, OISIN.read_bytes())
    assert p.report.name == "youtube.table_data"
    assert len(videos) == 102
    assert len(p.rows) == 102 and not p.problems and p.skipped == {"Total rows": 1}
    assert list(p.rows["post_id"]) == [r[0].strip() for r in videos]
    assert p.rows["views"].sum() == sum(num(r[col["Views"]]) for r in videos)
    assert p.rows["likes"].sum() == sum(num(r[col["Likes"]]) for r in videos)
    assert p.rows["impressions"].sum() == sum(num(r[col["Impressions"]]) for r in videos)
    # Both "Subscribers gained" and net "Subscribers" are in this file: the gross one is used.
    assert p.rows["followers_gained"].sum() == sum(num(r[col["Subscribers gained"]]) for r in videos)
    assert p.rows["followers_gained"].sum() != sum(num(r[col["Subscribers"]]) for r in videos)
    hours = sum(num(r[col["Watch time (hours)"]]) for r in videos)
    assert p.rows["watch_time_s"].sum() == pytest.approx(hours * 3600)


def test_a_video_id_written_with_a_leading_space_is_stripped_and_linked():
    _, rows = raw_rows(real(OISIN))
    spaced = next(r[0] for r in rows if r[0].startswith(" "))
    p = parse_one(OISIN.name, OISIN.read_bytes())
    hit = p.rows[p.rows["post_id"] == spaced.strip()]
    assert len(hit) == 1 and spaced.strip().startswith("-")
    assert hit["url"].iloc[0] == f"https://www.youtube.com/watch?v={spaced.strip()}"


def test_publish_dates_like_dec_15_2023_are_read_as_that_day_in_the_campaign_timezone():
    p = parse_one(OISIN.name, real(OISIN).read_bytes())
    first = p.rows.iloc[0]
    assert first["post_id"] == "M1fTBQ96BRM"
    assert first["published_at"] == pd.Timestamp("2023-12-15 00:00", tz="Asia/Shanghai")
    assert first["views"] == 4835 and first["followers_gained"] == 3


def test_the_real_crlf_table_data_rejects_the_excel_damaged_id_and_skips_the_footer():
    header, rows = raw_rows(real(KRISH))
    col = {h: i for i, h in enumerate(header)}
    assert rows[0][0] == "Total" and rows[-1][0] == "Showing top 500 results"
    assert b"\r\n" in KRISH.read_bytes()
    videos = rows[1:-1]
    damaged = [i for i, r in enumerate(videos) if r[0] == "#NAME?"]
    good = [r for r in videos if r[0] != "#NAME?"]
    p = parse_one(KRISH.name, KRISH.read_bytes())
    assert p.report.name == "youtube.table_data"
    assert len(videos) == 500 and len(damaged) == 1
    assert len(p.rows) == 499
    assert p.skipped == {"Total rows": 1, "footer lines (Showing top N results)": 1}
    (problem,) = p.problems
    assert problem.source == KRISH.name and problem.column == "Content" and problem.value == "#NAME?"
    assert problem.line == damaged[0] + 3  # header on line 1, Total on line 2
    assert p.rows["views"].sum() == sum(num(r[col["Views"]]) for r in good)
    # No "Subscribers gained" column: the net "Subscribers" figure is used, negatives included.
    assert p.rows["followers_gained"].sum() == sum(num(r[col["Subscribers"]]) for r in good)
    assert p.rows["watch_time_s"].sum() == pytest.approx(3600 * sum(num(r[col["Watch time (hours)"]]) for r in good))
    spaced = [r[0].strip() for r in good if r[0].startswith(" ")]
    assert len(spaced) == 11 and set(spaced) <= set(p.rows["post_id"])


def test_blank_metric_cells_stay_missing_instead_of_becoming_zero():
    header, rows = raw_rows(real(KRISH))
    col = {h: i for i, h in enumerate(header)}
    blank = next(r for r in rows[1:-1] if r[col["Views"]] == "")
    p = parse_one(KRISH.name, KRISH.read_bytes())
    row = p.rows[p.rows["post_id"] == blank[0].strip()].iloc[0]
    assert pd.isna(row["views"]) and pd.isna(row["watch_time_s"])
    assert row["impressions"] == float(blank[col["Impressions"]])


def test_the_real_german_table_data_matches_headers_with_soft_hyphens_and_skips_gesamt_and_footer():
    header, rows = raw_rows(real(GERMAN))
    assert "\u00ad" in header[0] and "\u00ad" in rows[0][0]
    col = {h.replace("\u00ad", ""): i for i, h in enumerate(header)}
    videos = rows[1:-1]
    assert len(rows[-1]) == 1  # the localized footer is a lone cell
    p = parse_one(GERMAN.name, GERMAN.read_bytes())
    assert p.report.name == "youtube.table_data"
    assert len(p.rows) == len(videos) == 500 and not p.problems
    assert p.skipped == {"Total rows": 1, "footer lines (Showing top N results)": 1}
    assert p.rows["views"].sum() == sum(num(r[col["Aufrufe"]]) for r in videos)
    assert p.rows["impressions"].sum() == sum(num(r[col["Impressionen"]]) for r in videos)
    assert p.rows["followers_gained"].sum() == sum(num(r[col["Abonnenten"]]) for r in videos)
    assert list(p.rows["title"][:2]) == [videos[0][1], videos[1][1]]
    # Some videos have no publish time in the file: those stay unknown, the row is kept.
    published = [r[2] for r in videos]
    assert p.rows["published_at"].notna().sum() == sum(1 for v in published if v) == 483


# --- Chart data (real file) -------------------------------------------------------------------

def test_the_real_chart_data_gives_one_row_per_video_and_day_with_each_videos_views():
    header, rows = raw_rows(real(CHART))
    assert header == ["Date", "Content", "Video title", "Video publish time", "Duration", "Views"]
    p = parse_one(CHART.name, CHART.read_bytes())
    assert p.report.name == "youtube.chart_data" and p.report.grain == "post_daily"
    assert len(p.rows) == len(rows) == 1825 and not p.problems
    expected: dict[str, float] = {}
    for r in rows:
        expected[r[1]] = expected.get(r[1], 0) + float(r[5])
    got = p.rows.groupby("post_id")["views"].sum().to_dict()
    assert got == expected and len(got) == 5
    assert p.rows["day"].min() == pd.Timestamp(min(r[0] for r in rows))
    assert p.rows["day"].max() == pd.Timestamp(max(r[0] for r in rows))
    assert p.rows.duplicated(["post_id", "day"]).sum() == 0


# --- fixtures in Studio's format --------------------------------------------------------------

def test_totals_read_iso_days_and_the_day_first_dates_excel_writes_when_it_resaves():
    iso = csv_bytes(["Date", "Views"], [["2025-06-13", "120"], ["2025-06-14", "80"]])
    excel = csv_bytes(["Date", "Views"], [["13-06-2025", "120"], ["14-06-2025", "80"]], newline="\r\n")
    for name, data in (("Totals.csv", iso), ("Totals (resaved).csv", excel)):
        p = parse_one(name, data)
        assert p.report.name == "youtube.totals" and p.report.grain == "account_day"
        assert list(p.rows["day"]) == [pd.Timestamp("2025-06-13"), pd.Timestamp("2025-06-14")]
        assert list(p.rows["views"]) == [120, 80] and not p.problems


def test_a_studio_zip_yields_table_chart_and_totals_under_the_channel_named_in_the_zip():
    table = csv_bytes(
        ["Content", "Video title", "Video publish time", "Duration", "Views", "Watch time (hours)",
         "Subscribers", "Impressions", "Impressions click-through rate (%)"],
        [["Total", "", "", "", "1500", "12.5", "7", "9000", "4.1"],
         ["UWQNrpakgcA", "Jin Hub launch, Yiwu", "Dec 22, 2024", "61", "1200", "10.25", "6", "7000", "4.5"],
         [" -yquaLFqjE4", "Merchants, part 2", "Dec 24, 2024", "300", "300", "2.25", "1", "2000", "2.8"]])
    chart = csv_bytes(
        ["Date", "Content", "Video title", "Video publish time", "Duration", "Views"],
        [["2024-12-22", "UWQNrpakgcA", "Jin Hub launch, Yiwu", "Dec 22, 2024", "61", "700"],
         ["2024-12-23", "UWQNrpakgcA", "Jin Hub launch, Yiwu", "Dec 22, 2024", "61", "500"]])
    totals = csv_bytes(["Date", "Views"], [["2024-12-22", "700"], ["2024-12-23", "800"]])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Table data.csv", table)
        z.writestr("Chart data.csv", chart)
        z.writestr("Totals.csv", totals)
    name = "Content 2024-12-16_2025-01-26 Jin Hub Channel.zip"
    parsed = {p.report.name: p for p in parse_all(name, buf.getvalue())}
    assert set(parsed) == {"youtube.table_data", "youtube.chart_data", "youtube.totals"}
    t = parsed["youtube.table_data"]
    assert list(t.rows["post_id"]) == ["UWQNrpakgcA", "-yquaLFqjE4"]
    assert list(t.rows["watch_time_s"]) == [36900.0, 8100.0]
    assert t.table.source == f"{name}!Table data.csv"
    assert parsed["youtube.chart_data"].rows["views"].sum() == 1200
    assert parsed["youtube.totals"].rows["views"].sum() == 1500
    for p in parsed.values():
        assert set(p.rows["account_name"]) == {"Jin Hub Channel"}


def test_a_table_exported_from_the_chinese_studio_ui_maps_its_headers_and_skips_the_zongji_row():
    data = csv_bytes(
        ["内容", "视频标题", "视频发布时间", "时长", "观看次数", "观看时长（小时）", "订阅人数", "展示次数",
         "展示次数点击率 (%)"],
        [["总计", "", "", "", "5000", "40.5", "-3", "60000", "5.2"],
         ["UWQNrpakgcA", "义乌“金”枢纽", "2024-12-22 10:55:13", "61", "4000", "30.5", "-5", "50000", "6.1"],
         ["M1fTBQ96BRM", "短片：市场", "Dec 23, 2024", "30", "1000", "10", "2", "10000", "4.0"]])
    p = parse_one("表格数据.csv", data)
    assert p.report.name == "youtube.table_data"
    assert p.skipped == {"Total rows": 1} and not p.problems
    assert list(p.rows["views"]) == [4000, 1000]
    assert list(p.rows["impressions"]) == [50000, 10000]
    assert list(p.rows["watch_time_s"]) == [30.5 * 3600, 36000]
    assert list(p.rows["followers_gained"]) == [-5, 2]
    assert p.rows["published_at"].iloc[0] == pd.Timestamp("2024-12-22 10:55:13", tz="Asia/Shanghai")
    assert p.rows["title"].iloc[0] == "义乌“金”枢纽"


def test_a_bad_number_rejects_only_its_row_and_names_file_line_and_column():
    data = csv_bytes(
        ["Content", "Video title", "Video publish time", "Views", "Likes", "Comments added", "Shares"],
        [["Total", "", "", "30", "3", "1", "1"],
         ["UWQNrpakgcA", "one", "Dec 22, 2024", "10", "1", "0", "0"],
         ["M1fTBQ96BRM", "two", "Dec 23, 2024", "12 views", "1", "1", "1"],
         ["OrVFdHWj3p4", "three", "Dec 24, 2024", "8", "1", "0", "0"]])
    p = parse_one("Table data.csv", data)
    assert list(p.rows["post_id"]) == ["UWQNrpakgcA", "OrVFdHWj3p4"]
    assert list(p.rows["comments"]) == [0, 0] and list(p.rows["shares"]) == [0, 0]
    (problem,) = p.problems
    assert (problem.source, problem.line, problem.column, problem.value) == ("Table data.csv", 4, "Views", "12 views")
    assert "whole number" in problem.expected


def test_no_youtube_report_claims_a_real_sample_of_another_platform():
    if not REAL.is_dir():
        pytest.skip(f"real samples not available ({REAL} is absent)")
    claimed = {}
    for f in sorted(REAL.rglob("*.csv")):
        for t in read_bytes(f.name, f.read_bytes()):
            try:
                claimed[f"{f.parent.name}/{f.name}"] = detect(t).name
            except DetectError:
                pass
    for name, report in claimed.items():
        assert report.startswith("youtube.") == name.startswith("youtube/"), (name, report)
    assert claimed["youtube/priyankapatel05_chart_data.csv"] == "youtube.chart_data"
    assert sum(r == "youtube.table_data" for r in claimed.values()) == 3


def test_a_date_and_metric_table_from_another_platform_is_not_taken_for_youtube_totals():
    data = csv_bytes(["Date", "Hour", "Active followers"], [["2021-03-08", "1", "55398"]])
    (t,) = read_bytes("FollowerActivity.csv", data)
    with pytest.raises(DetectError):
        detect(t)


# --- localized Studio exports (headers from collectors/catalogs/youtube.toml) -----------------

def test_a_brazilian_portuguese_table_data_in_the_real_files_format_imports_every_video():
    # The shape of the public pt-BR exports (GianMartins/Youtube, KNZLink/KNZLink "Dados da
    # tabela.csv"): Portuguese headers, a revenue column, a Total row, English "Mar 25, 2023"
    # dates, dot decimals, and the leading-space guard on an id starting with "-".
    data = csv_bytes(
        ["Conteúdo", "Título do vídeo", "Horário de publicação do vídeo", "Visualizações",
         "Tempo de exibição (horas)", "Inscritos", "Receita estimada (USD)", "Impressões",
         "Taxa de cliques de impressões (%)"],
        [["Total", "", "", "1145839", "87568.6825", "7562", "1240.707", "7765302", "9.21"],
         ["MB8ilXEUvRs", "Debate na CNN, com Moro e Bolsonaro", "Mar 25, 2023", "758264", "56634.0561",
          "6426", "914.456", "4925189", "10.04"],
         [" -y63uOiyJv4", "Deltan tenta lacrar e é desmontado", "May 6, 2023", "387238", "30934.627",
          "1136", "326.251", "2840113", "7.68"],
         ["YxQkkAs1nig", "Vídeo sem data de publicação", "", "337", "0.0014", "0", "0", "5", "0"]])
    p = parse_one("Dados da tabela.csv", data)
    assert p.report.name == "youtube.table_data"
    assert p.skipped == {"Total rows": 1} and not p.problems
    assert list(p.rows["post_id"]) == ["MB8ilXEUvRs", "-y63uOiyJv4", "YxQkkAs1nig"]
    assert list(p.rows["views"]) == [758264, 387238, 337]
    assert list(p.rows["impressions"]) == [4925189, 2840113, 5]
    assert list(p.rows["followers_gained"]) == [6426, 1136, 0]  # Inscritos: net, the fallback
    assert p.rows["watch_time_s"].iloc[0] == pytest.approx(56634.0561 * 3600)
    assert p.rows["published_at"].iloc[0] == pd.Timestamp("2023-03-25", tz="Asia/Shanghai")
    assert pd.isna(p.rows["published_at"].iloc[2])
    assert p.rows["url"].iloc[1] == "https://www.youtube.com/watch?v=-y63uOiyJv4"


def test_a_brazilian_portuguese_studio_zip_reads_its_chart_data_and_totals_too():
    chart = csv_bytes(
        ["Data", "Conteúdo", "Título do vídeo", "Horário de publicação do vídeo", "Visualizações"],
        [["2023-06-21", "6s0bWKs_c6w", "Brilhante! Pastor Henrique", "Jun 21, 2023", "1200"],
         ["2023-06-22", "6s0bWKs_c6w", "Brilhante! Pastor Henrique", "Jun 21, 2023", "800"]])
    totals = csv_bytes(["Data", "Visualizações"], [["2023-06-21", "5000"], ["2023-06-22", "4000"]])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Dados do gráfico.csv", chart)
        z.writestr("Totais.csv", totals)
    parsed = {p.report.name: p for p in parse_all("Conteúdo 2023-01-01_2023-06-29 Canal.zip", buf.getvalue())}
    assert set(parsed) == {"youtube.chart_data", "youtube.totals"}
    c = parsed["youtube.chart_data"]
    assert list(c.rows["day"]) == [pd.Timestamp("2023-06-21"), pd.Timestamp("2023-06-22")]
    assert list(c.rows["views"]) == [1200, 800] and not c.problems
    assert parsed["youtube.totals"].rows["views"].sum() == 9000
    assert set(parsed["youtube.totals"].rows["account_name"]) == {"Canal"}


def _names(lang: str) -> dict[str, str]:
    """Each field's first header in one language of the catalog."""
    from collectors import catalog

    return {f: names[0] for f, names in catalog.entry("youtube:table_data").aliases[lang].items()}


# The default Content view (krishp1010's column order), with values as Studio writes them.
_DEFAULT = ["post_id", "title", "published_at", "_duration", "views", "watch_time_s", "_subscribers_net",
            "impressions", "_ctr"]


@pytest.mark.parametrize("lang,total", [
    ("ko", "합계"), ("ja", "合計"), ("es", "Total"), ("vi", "Tổng"), ("tr", "Toplam"), ("fr", "Total"),
    ("ru", "Итоговое значение"), ("id", "Total"), ("th", "รวม"), ("zh-Hant", "總計"), ("it", "Totale"),
])
def test_a_table_data_in_each_catalog_language_maps_its_headers_and_skips_its_total_row(lang, total):
    names = _names(lang)
    header = [names[f] for f in _DEFAULT]
    data = csv_bytes(header, [
        [total, "", "", "", "1300", "20.5", "3", "16000", "5.1"],
        ["zED8kkYKZj4", "Claudia Valentina - Candy (Lyrics)", "May 27, 2025", "119", "1000", "15.25", "4",
         "12000", "7.78"],
        ["yuHHPudTyRk", "Tom Gregory - Rather Be You", "Oct 20, 2020", "177", "300", "5.25", "-1", "4000", "9.34"]])
    p = parse_one("table.csv", data)
    assert p.report.name == "youtube.table_data", header
    assert p.skipped == {"Total rows": 1} and not p.problems
    assert list(p.rows["views"]) == [1000, 300]
    assert list(p.rows["impressions"]) == [12000, 4000]
    assert list(p.rows["followers_gained"]) == [4, -1]
    assert list(p.rows["watch_time_s"]) == [15.25 * 3600, 5.25 * 3600]
    assert p.rows["published_at"].iloc[1] == pd.Timestamp("2020-10-20", tz="Asia/Shanghai")


def test_the_real_korean_export_layout_with_its_older_first_column_name_and_a_revenue_column():
    # ljh35341/StockPricePrediction "표 데이터.csv" (2020): "동영상" before Studio renamed it "콘텐츠".
    data = csv_bytes(
        ["동영상", "동영상 제목", "동영상 게시 시간", "조회수", "시청 시간(단위: 시간)", "구독자", "추정 수익 (USD)",
         "노출수", "노출 클릭률 (%)"],
        [["합계", "", "", "980496", "73703.4559", "1482", "3230.456", "8024726", "8.11"],
         ["zONfGalNqMY", "에이치엘비, 유상증자 뒤 급등사례", "Apr 20, 2020", "15320", "1836.3546", "28", "48.035",
          "143532", "7.51"]])
    p = parse_one("표 데이터.csv", data)
    assert p.report.name == "youtube.table_data" and p.skipped == {"Total rows": 1}
    assert list(p.rows["views"]) == [15320] and list(p.rows["impressions"]) == [143532]


def test_every_catalog_language_names_the_columns_table_data_needs_and_says_where_they_come_from():
    from collectors import catalog

    e = catalog.entry("youtube:table_data")
    assert set(catalog.LANGUAGES) <= set(e.aliases)
    for lang in catalog.LANGUAGES:
        assert {"post_id", "title", "views", "watch_time_s", "day"} <= set(e.aliases[lang]), lang
        assert e.sources.get(lang) and e.evidence.get(lang, "export") in ("export", "code", "help", "translation")


def test_a_table_data_in_a_language_the_catalog_lacks_is_read_by_its_structure():
    # oisinqueva's Shorts column order, headers in a made-up language: no header is known, the
    # order and the values (ids, dates, counts, percentages, hours) say which report it is.
    header = ["Qa", "Qb", "Qc", "Qd", "Qe", "Qf", "Qg", "Qh", "Qi", "Qj", "Qk", "Ql", "Qm", "Qn", "Qo"]
    rows = [["Zzz", "", "", "0", "0", "3562", "265", "253186", "38.21", "83.8", "97004", "375.6609", "222", "17949",
             "5.19"]]
    ids = [f"M1fTBQ96B{i:02d}" for i in range(12)]
    for i, vid in enumerate(ids):
        rows.append([vid, f"Short number {i}: a normal guy #shorts", f"Dec {i + 10}, 2023", "", "", str(134 - i),
                     str(3 + i), str(11304 + i), f"{42.68 + i:.2f}", f"{102.69 - i:.2f}", str(4835 + i),
                     f"{19.3082 + i:.4f}", str(3 + i), str(618 + i), f"{4.53 + i / 10:.2f}"])
    p = parse_one("tabla.csv", csv_bytes(header, rows))
    assert p.report.name == "youtube.table_data"
    assert list(p.rows["post_id"]) == ids
    assert list(p.rows["views"]) == [4835 + i for i in range(12)]
    assert list(p.rows["likes"]) == [134 - i for i in range(12)]
    assert list(p.rows["followers_gained"]) == [3 + i for i in range(12)]  # Subscribers gained wins


def test_the_default_column_order_in_an_unknown_language_is_read_by_the_kinds_of_its_values():
    # Nine columns: id, title, date, then Duration (whole seconds), Views, Watch time (decimal
    # hours), Subscribers, Impressions, CTR. Only the default view puts a decimal column there.
    header = ["Qa", "Qb", "Qc", "Qd", "Qe", "Qf", "Qg", "Qh", "Qi"]
    ids = [f"zED8kkYKZ{i:02d}" for i in range(12)]
    rows = [[vid, f"Video number {i}, the long one", f"May {i + 1}, 2025", str(119 + i), str(2096 + i),
             f"{48.878 + i:.4f}", str(i), str(17021 + i), f"{7.78 + i / 10:.2f}"] for i, vid in enumerate(ids)]
    p = parse_one("tabla.csv", csv_bytes(header, rows))
    assert p.report.name == "youtube.table_data"
    assert list(p.rows["views"]) == [2096 + i for i in range(12)]
    assert list(p.rows["impressions"]) == [17021 + i for i in range(12)]


def test_a_column_order_two_studio_views_share_is_refused_and_the_report_named():
    # With every number whole, nine columns fit both the default view (Duration first) and a
    # monetised channel's view (revenue before Impressions): no header says which is which.
    header = ["Qa", "Qb", "Qc", "Qd", "Qe", "Qf", "Qg", "Qh", "Qi"]
    ids = [f"zED8kkYKZ{i:02d}" for i in range(12)]
    rows = [[vid, f"Video number {i}, the long one", f"May {i + 1}, 2025", str(119 + i), str(2096 + i),
             str(48 + i), str(i), str(17021 + i), str(7 + i % 3)] for i, vid in enumerate(ids)]
    (t,) = read_bytes("tabla.csv", csv_bytes(header, rows))
    with pytest.raises(DetectError) as e:
        detect(t)
    assert "youtube.table_data" in str(e.value)
