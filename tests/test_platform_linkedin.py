"""LinkedIn importer: Page content and followers workbooks built here in LinkedIn's layout.

No real LinkedIn export is among the shared samples, so the workbooks are made with openpyxl the
way LinkedIn lays them out: a note on row 1, the header on row 2, real Excel dates in the Metrics
sheet and MM/DD/YYYY text in All posts. Expected values are read back from the workbook bytes with
openpyxl directly, not through the reader under test.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

from collectors import catalog
from collectors.errors import DetectError
from collectors.parse import Context, detect, parse_table
from collectors.read import header_key, read_bytes

METRICS_HEADER = [
    "Date", "Impressions (organic)", "Impressions (sponsored)", "Impressions (total)",
    "Unique impressions (organic)", "Clicks (organic)", "Clicks (sponsored)", "Clicks (total)",
    "Reactions (organic)", "Reactions (sponsored)", "Reactions (total)", "Comments (organic)",
    "Comments (sponsored)", "Comments (total)", "Reposts (organic)", "Reposts (sponsored)",
    "Reposts (total)", "Engagement rate (organic)", "Engagement rate (sponsored)", "Engagement rate (total)",
]
POSTS_HEADER = [
    "Post title", "Post link", "Post type", "Campaign name", "Posted by", "Created date",
    "Campaign start date", "Campaign end date", "Audience", "Impressions",
    "Views (excluding off-site video views)", "Off-site views", "Clicks", "Click through rate (CTR)",
    "Likes", "Comments", "Reposts", "Follows", "Engagement rate", "Content Type",
]
# Older workbooks: Update title/link/type, Published by, Date, Shares, Followers.
POSTS_HEADER_OLD = [
    "Update title", "Update link", "Update type", "Campaign name", "Published by", "Date",
    "Campaign start date", "Campaign end date", "Audience", "Impressions",
    "Views (excluding off-site video views)", "Off-site views", "Clicks", "Click through rate (CTR)",
    "Likes", "Comments", "Shares", "Followers", "Engagement rate", "Content Type",
]
METRICS_HEADER_PT = [
    "Data", "Impressões (orgânicas)", "Impressões (patrocinadas)", "Impressões (total)",
    "Impressões únicas (orgânicas)", "Cliques (orgânicos)", "Cliques (patrocinados)", "Cliques (total)",
    "Reações (orgânicas)", "Reações (patrocinadas)", "Reações (total)", "Comentários (orgânicos)",
    "Comentários (patrocinados)", "Comentários (total)", "Compartilhamentos (orgânicos)",
    "Compartilhamentos (patrocinados)", "Compartilhamentos (total)", "Taxa de engajamento (orgânico)",
    "Taxa de engajamento (patrocinado)", "Taxa de engajamento (total)",
]
POSTS_HEADER_PT = [
    "Título da publicação", "Link da publicação", "Tipo de publicação", "Nome da campanha",
    "Publicada por", "Criação", "Data de início da campanha", "Data de término da campanha", "Público",
    "Impressões", "Visualizações", "Visualizações fora do site", "Cliques", "Taxa de cliques (CTR)",
    "Gostaram", "Comentários", "Compartilhamentos", "Seguidores", "Taxa de engajamento", "Tipo de conteúdo",
]
FOLLOWERS_HEADER = ["Date", "Sponsored followers", "Organic followers", "Auto-invited followers", "Total followers"]

METRICS_NOTE = "Aggregated metrics for the Page's updates over the selected date range."
POSTS_NOTE = "Metrics for each update published in the selected date range."
START = datetime(2024, 12, 16)


def metrics_rows(days: int = 14) -> list[list]:
    rows = []
    for i in range(days):
        io_, is_ = 300 + 41 * i, (120 if i % 4 == 0 else 0)
        co, cs = 9 + i % 5, (3 if is_ else 0)
        # LinkedIn later withdraws reactions it finds invalid: a day's net can be negative.
        ro, rs = (-2 if i == 5 else 12 + i), (1 if is_ else 0)
        mo, ms, so, ss = i % 3, 0, i % 2, 0
        total = io_ + is_
        rows.append([START + timedelta(days=i), io_, is_, total, int(io_ * 0.7), co, cs, co + cs, ro, rs, ro + rs,
                     mo, ms, mo + ms, so, ss, so + ss, (co + ro + mo + so) / io_, 0.0,
                     (co + cs + ro + rs + mo + so) / total])
    return rows


def post_rows() -> list[list]:
    return [
        ["Jin Hub launch in Yiwu\n\n#BeltAndRoad", "https://www.linkedin.com/feed/update/urn:li:activity:7276543210987654321",
         "Organic", "", "Jin Hub", "12/22/2024", "", "", "All followers", 4210, 0, 0, 133, 0.0316, 88, 9, 14, 6,
         0.057, "Image"],
        ["Livestream replay", "https://www.linkedin.com/feed/update/urn:li:share:7277000000000000002",
         "Sponsored", "Jin Hub awareness", "Jin Hub", "12/23/2024", "12/23/2024", "12/30/2024", "Members in China",
         10450, 2310, 45, 502, 0.048, 201, 17, 30, 22, 0.074, "Video"],
        ["Merchants of the Futian market", "https://www.linkedin.com/feed/update/urn%3Ali%3AugcPost%3A7277100000000000003",
         "Organic", "", "Li Wei", "12/24/2024", "", "", "All followers", 980, 0, 0, 21, 0.0214, 17, 2, 1, 0,
         0.042, "Text"],
    ]


def workbook(sheets: list[tuple[str, str | None, list[str], list[list]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, note, header, rows in sheets:
        ws = wb.create_sheet(name)
        if note is not None:
            ws.append([note])
        ws.append(header)
        for r in rows:
            ws.append(r)
        for row in ws.iter_rows(min_row=3 if note else 2, max_col=1):
            for cell in row:
                if isinstance(cell.value, datetime):
                    cell.number_format = "mm/dd/yyyy"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def content_workbook(metrics=None, posts=None, posts_header=POSTS_HEADER) -> bytes:
    return workbook([
        ("Metrics", METRICS_NOTE, METRICS_HEADER, metrics_rows() if metrics is None else metrics),
        ("All posts", POSTS_NOTE, posts_header, post_rows() if posts is None else posts),
    ])


def sheet_values(data: bytes, sheet: str) -> tuple[list[str], list[tuple[int, tuple]]]:
    """Header (row 2) and (row number, values) of each data row, read with openpyxl alone."""
    ws = openpyxl.load_workbook(io.BytesIO(data))[sheet]
    rows = list(ws.iter_rows(values_only=True))
    return list(rows[1]), [(i + 1, r) for i, r in enumerate(rows) if i >= 2]


def parse_all(name: str, data: bytes):
    return {t.sheet: parse_table(t, Context(name)) for t in read_bytes(name, data)}


def test_one_content_workbook_gives_one_table_per_sheet_and_each_is_detected():
    tables = read_bytes("jinhub_content_1735000000000.xlsx", content_workbook())
    assert [t.sheet for t in tables] == ["Metrics", "All posts"]
    assert [t.header_line for t in tables] == [2, 2]
    assert [t.title for t in tables] == [METRICS_NOTE, POSTS_NOTE]
    assert [detect(t).name for t in tables] == ["linkedin.content_metrics", "linkedin.content_posts"]


def test_the_metrics_sheet_is_one_account_row_per_day_with_totals_mapped():
    data = content_workbook()
    header, rows = sheet_values(data, "Metrics")
    col = {h: i for i, h in enumerate(header)}
    p = parse_all("c.xlsx", data)["Metrics"]
    assert p.report.grain == "account_day" and not p.problems
    assert len(p.rows) == len(rows) == 14
    assert list(p.rows["line"]) == [n for n, _ in rows]
    assert list(p.rows["day"]) == [pd.Timestamp(r[col["Date"]]) for _, r in rows]
    for native, canonical in [("Impressions (total)", "impressions"), ("Clicks (total)", "clicks"),
                              ("Reactions (total)", "likes"), ("Comments (total)", "comments"),
                              ("Reposts (total)", "shares")]:
        assert p.rows[canonical].sum() == sum(r[col[native]] for _, r in rows), native
    # Unique impressions are LinkedIn's reach; they are per day and never summed downstream.
    assert list(p.rows["reach"]) == [r[col["Unique impressions (organic)"]] for _, r in rows]
    assert "account_id" not in p.rows and "views" not in p.rows


def test_a_negative_daily_count_is_kept_as_the_file_states_it():
    p = parse_all("c.xlsx", content_workbook())["Metrics"]
    assert p.rows.loc[p.rows["day"] == pd.Timestamp(START + timedelta(days=5)), "likes"].item() == -2


def test_the_all_posts_sheet_is_one_lifetime_row_per_post_keyed_by_its_urn():
    data = content_workbook()
    header, rows = sheet_values(data, "All posts")
    col = {h: i for i, h in enumerate(header)}
    p = parse_all("c.xlsx", data)["All posts"]
    assert p.report.grain == "post_lifetime" and not p.problems
    assert list(p.rows["post_id"]) == [
        "urn:li:activity:7276543210987654321", "urn:li:share:7277000000000000002",
        "urn:li:ugcPost:7277100000000000003",
    ]
    assert list(p.rows["line"]) == [3, 4, 5]
    assert list(p.rows["url"]) == [r[col["Post link"]] for _, r in rows]
    assert p.rows["title"].iloc[0] == "Jin Hub launch in Yiwu\n\n#BeltAndRoad"
    assert list(p.rows["post_type"]) == ["Image", "Video", "Text"]
    for native, canonical in [("Impressions", "impressions"), ("Clicks", "clicks"), ("Likes", "likes"),
                              ("Comments", "comments"), ("Reposts", "shares"), ("Follows", "followers_gained"),
                              ("Views (excluding off-site video views)", "video_views")]:
        assert p.rows[canonical].sum() == sum(r[col[native]] for _, r in rows), native


def test_the_created_date_is_taken_as_midnight_in_the_campaign_timezone():
    p = parse_all("c.xlsx", content_workbook())["All posts"]
    tz = ZoneInfo("Asia/Shanghai")
    assert list(p.rows["published_at"]) == [
        pd.Timestamp(d, tz=tz).tz_convert("UTC") for d in ("2024-12-22", "2024-12-23", "2024-12-24")
    ]


def test_a_bad_cell_is_rejected_with_its_sheet_row_and_column():
    posts = post_rows()
    posts[1][9] = "10 450 (est.)"  # hand-edited cell
    posts[2][5] = "24/12/2024"  # a day-first date where LinkedIn writes MM/DD/YYYY
    p = parse_all("c.xlsx", content_workbook(posts=posts))["All posts"]
    assert p.rows["post_id"].tolist() == ["urn:li:activity:7276543210987654321"]
    found = sorted((x.line, x.column, x.value) for x in p.problems)
    assert found == [(4, "Impressions", "10 450 (est.)"), (5, "Created date", "24/12/2024")]
    assert all(x.source == "c.xlsx!All posts" for x in p.problems)


def test_a_post_link_without_a_urn_is_rejected_rather_than_given_a_made_up_id():
    posts = post_rows()
    posts[0][1] = "https://lnkd.in/gAbC123"
    p = parse_all("c.xlsx", content_workbook(posts=posts))["All posts"]
    assert len(p.rows) == 2
    [problem] = p.problems
    assert (problem.line, problem.column) == (3, "Post link")


def test_the_older_update_naming_is_read_like_the_current_one():
    data = content_workbook(posts_header=POSTS_HEADER_OLD)
    p = parse_all("c.xlsx", data)["All posts"]
    assert p.report.name == "linkedin.content_posts" and not p.problems
    assert p.rows["shares"].sum() == sum(r[16] for r in post_rows())
    assert p.rows["followers_gained"].sum() == sum(r[17] for r in post_rows())


def test_older_metrics_sheets_with_shares_instead_of_reposts_are_read():
    header = [h.replace("Reposts", "Shares") for h in METRICS_HEADER]
    rows = metrics_rows(3)
    data = workbook([("Metrics", METRICS_NOTE, header, rows)])
    [p] = parse_all("c.xlsx", data).values()
    assert p.report.name == "linkedin.content_metrics"
    assert p.rows["shares"].sum() == sum(r[16] for r in rows)


def test_a_brazilian_portuguese_workbook_is_read_like_the_english_one():
    data = workbook([
        ("Métricas", "Relatório agregado", METRICS_HEADER_PT, metrics_rows()),
        ("Todas as publicações", "Relatório por publicação", POSTS_HEADER_PT, post_rows()),
    ])
    parsed = parse_all("conteudo.xlsx", data)
    english = parse_all("c.xlsx", content_workbook())
    pt_metrics, pt_posts = parsed["Métricas"], parsed["Todas as publicações"]
    assert pt_metrics.report.name == "linkedin.content_metrics"
    assert pt_posts.report.name == "linkedin.content_posts"
    pd.testing.assert_frame_equal(pt_metrics.rows, english["Metrics"].rows)
    pd.testing.assert_frame_equal(pt_posts.rows, english["All posts"].rows)


def test_the_new_followers_sheet_gives_followers_gained_per_day_and_keeps_net_losses():
    rows = [["12/20/2024", 0, 5, 1, 6], ["12/21/2024", 2, 11, 0, 13], ["12/22/2024", 0, -1, 0, -1]]
    data = workbook([
        ("New followers", None, FOLLOWERS_HEADER, rows),
        ("Location", None, ["Location", "Total followers"], [["Jinhua, China", 310], ["Dubai", 42]]),
    ])
    tables = read_bytes("jinhub_followers.xlsx", data)
    p = parse_table(tables[0], Context("f.xlsx"))
    assert p.report.name == "linkedin.new_followers" and p.report.grain == "account_day"
    assert list(p.rows["day"]) == [pd.Timestamp("2024-12-20"), pd.Timestamp("2024-12-21"), pd.Timestamp("2024-12-22")]
    assert list(p.rows["followers_gained"]) == [r[4] for r in rows]
    assert list(p.rows["line"]) == [2, 3, 4]
    # A demographic sheet also has "Total followers" but is not a per-day table.
    with pytest.raises(DetectError):
        detect(tables[1])


def test_the_new_followers_csv_copy_with_a_title_line_is_read_too():
    text = ("New followers-Table 1\n"
            "Date,Sponsored followers,Organic followers,Auto-invited followers,Total followers\n"
            "12/20/2024,0,5,1,6\n12/21/2024,2,11,0,13\n")
    [table] = read_bytes("New followers-Table 1.csv", text.encode())
    p = parse_table(table, Context("New followers-Table 1.csv"))
    assert p.report.name == "linkedin.new_followers"
    assert list(p.rows["followers_gained"]) == [6, 13] and list(p.rows["line"]) == [3, 4]


def test_linkedin_and_x_reports_do_not_claim_each_others_tables():
    tables = read_bytes("c.xlsx", content_workbook())
    assert all(detect(t).platform == "linkedin" for t in tables)
    x_content = ("Post id,Date,Post text,Post Link,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,"
                 "Replies,Reposts,Profile visits,Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks\n"
                 '1,"Mon, Dec 23, 2024",t,https://x.com/a/status/1,1,1,1,1,1,1,1,1,1,1,1,1,1\n')
    assert detect(read_bytes("x.csv", x_content.encode())[0]).platform == "x"


# --- the catalog: layouts, languages, sheet names --------------------------------------------------


METRICS_HEADER_ES = [
    "Fecha", "Impresiones (orgánicas)", "Impresiones (patrocinadas)", "Impresiones totales",
    "Impresiones únicas (orgánicas)", "Clics (orgánicos)", "Clics (patrocinados)", "Clics (Totales)",
    "Reacciones (generales)", "Reacciones (patrocinadas)", "Reacciones (total)", "Comentarios (orgánicos)",
    "Comentarios (patrocinados)", "Comentarios (totales)", "Veces compartido (orgánico)",
    "Veces compartido (patrocinado)", "Veces compartido (total)", "Tasa de interacción (orgánica)",
    "Tasa de interacción (patrocinada)", "Tasa de interacción (total)",
]
POSTS_HEADER_ES = [
    "Título de la publicación", "Enlace de la publicación", "Tipo de publicación", "Nombre de la campaña",
    "Anunciado por", "Fecha de creación", "Fecha de inicio de campaña", "Fecha de finalización de campaña",
    "Público", "Impresiones", "Visualizaciones", "Visualizaciones fuera del sitio", "Clics",
    "Porcentaje de clics", "Recomendaciones", "Comentarios", "Veces compartido", "Seguidores",
    "Tasa de interacción", "Tipo de contenido",
]
FOLLOWERS_HEADER_PT = ["Data", "Seguidores patrocinados", "Seguidores orgânicos",
                       "Seguidores convidados automaticamente", "Total de seguidores"]
FOLLOWER_ROWS = [["12/20/2024", 0, 5, 1, 6], ["12/21/2024", 2, 11, 0, 13], ["12/22/2024", 0, -1, 0, -1]]
# The Spanish auto-invited column's name was never seen: a made-up one stands in for it.
FOLLOWERS_HEADER_ES = ["Fecha", "Seguidores patrocinados", "Seguidores generales",
                       "Seguidores xx", "Total de seguidores"]
# Later Spanish workbooks, as six scripts reading real exports have them.
METRICS_HEADER_ES_LATER = [h.replace("Impresiones totales", "Impresiones (totales)").replace(
    "Clics (Totales)", "Clics (totales)") for h in METRICS_HEADER_ES]


def fields_of(entry_key: str, header: list[str], lang: str) -> list[str | None]:
    names = catalog.entry(entry_key).aliases[lang]
    by_key = {header_key(n): f for f, ns in names.items() for n in ns}
    return [by_key.get(header_key(h)) for h in header]


@pytest.mark.parametrize("key, header, lang", [
    ("linkedin:content_metrics", METRICS_HEADER, "en"),
    ("linkedin:content_metrics", [h.replace("Reposts", "Shares") for h in METRICS_HEADER], "en"),
    ("linkedin:content_metrics", METRICS_HEADER_PT, "pt-BR"),
    ("linkedin:content_metrics", METRICS_HEADER_ES, "es"),
    ("linkedin:content_metrics", METRICS_HEADER_ES_LATER, "es"),
    ("linkedin:content_posts", POSTS_HEADER, "en"),
    ("linkedin:content_posts", POSTS_HEADER_OLD, "en"),
    ("linkedin:content_posts", POSTS_HEADER_PT, "pt-BR"),
    ("linkedin:content_posts", POSTS_HEADER_ES, "es"),
    ("linkedin:new_followers", FOLLOWERS_HEADER, "en"),
    ("linkedin:new_followers", FOLLOWERS_HEADER_PT, "pt-BR"),
])
def test_each_known_header_is_its_layout_column_for_column(key, header, lang):
    assert fields_of(key, header, lang) == catalog.entry(key).layouts[0]


@pytest.mark.parametrize("key", ["linkedin:content_metrics", "linkedin:content_posts", "linkedin:new_followers"])
def test_every_language_table_says_where_its_names_come_from(key):
    e = catalog.entry(key)
    for lang in e.aliases:
        assert lang in catalog.LANGUAGES, lang
        assert e.sources.get(lang), f"{key} [{lang}] has no _source"
        assert e.evidence.get(lang) in ("export", "code", "help", "translation"), f"{key} [{lang}]"


def test_a_spanish_workbook_is_read_like_the_english_one_whatever_its_sheets_are_called():
    data = workbook([
        ("Indicadores", "Métricas agregadas", METRICS_HEADER_ES, metrics_rows()),
        ("Todas las publicaciones", "Métricas por publicación", POSTS_HEADER_ES, post_rows()),
    ])
    parsed = parse_all("contenido.xlsx", data)
    english = parse_all("c.xlsx", content_workbook())
    metrics, posts = parsed["Indicadores"], parsed["Todas las publicaciones"]
    assert metrics.report.name == "linkedin.content_metrics" and not metrics.problems
    assert posts.report.name == "linkedin.content_posts" and not posts.problems
    pd.testing.assert_frame_equal(metrics.rows, english["Metrics"].rows)
    pd.testing.assert_frame_equal(posts.rows, english["All posts"].rows)


def test_sheets_are_recognised_by_their_headers_not_their_names():
    data = workbook([
        ("Hoja1", METRICS_NOTE, METRICS_HEADER, metrics_rows(3)),
        ("Sheet 2", POSTS_NOTE, POSTS_HEADER, post_rows()),
        ("Metrics", None, FOLLOWERS_HEADER, FOLLOWER_ROWS),  # a misleading name
    ])
    names = {sheet: p.report.name for sheet, p in parse_all("renamed.xlsx", data).items()}
    assert names == {"Hoja1": "linkedin.content_metrics", "Sheet 2": "linkedin.content_posts",
                     "Metrics": "linkedin.new_followers"}


def test_a_brazilian_new_followers_sheet_is_read_like_the_english_one():
    pt = parse_all("seguidores.xlsx", workbook([("Novos seguidores", None, FOLLOWERS_HEADER_PT, FOLLOWER_ROWS)]))
    en = parse_all("followers.xlsx", workbook([("New followers", None, FOLLOWERS_HEADER, FOLLOWER_ROWS)]))
    assert pt["Novos seguidores"].report.name == "linkedin.new_followers"
    pd.testing.assert_frame_equal(pt["Novos seguidores"].rows, en["New followers"].rows)


def test_a_spanish_new_followers_sheet_is_read_like_the_english_one():
    es = parse_all("seguidores.xlsx", workbook([("Nuevos seguidores", None, FOLLOWERS_HEADER_ES, FOLLOWER_ROWS)]))
    en = parse_all("followers.xlsx", workbook([("New followers", None, FOLLOWERS_HEADER, FOLLOWER_ROWS)]))
    assert es["Nuevos seguidores"].report.name == "linkedin.new_followers"
    assert not es["Nuevos seguidores"].problems
    pd.testing.assert_frame_equal(es["Nuevos seguidores"].rows, en["New followers"].rows)


def test_the_later_spanish_metrics_wording_is_read_too():
    data = workbook([("Indicadores", "Métricas agregadas", METRICS_HEADER_ES_LATER, metrics_rows())])
    metrics = parse_all("contenido.xlsx", data)["Indicadores"]
    english = parse_all("c.xlsx", content_workbook())["Metrics"]
    assert metrics.report.name == "linkedin.content_metrics" and not metrics.problems
    pd.testing.assert_frame_equal(metrics.rows, english.rows)


@pytest.mark.parametrize("sheet, header, rows, report", [
    ("Metrics", METRICS_HEADER, metrics_rows(), "linkedin.content_metrics"),
    ("All posts", POSTS_HEADER, post_rows(), "linkedin.content_posts"),
], ids=["metrics", "posts"])
def test_a_sheet_in_a_language_the_catalog_lacks_is_read_by_its_structure(sheet, header, rows, report):
    # Made-up headers in the English order: only the column order and values say what it is.
    made_up = [f"Lajur {i}" for i in range(len(header))]
    local = parse_all("x.xlsx", workbook([(sheet + " (xx)", "nota", made_up, rows)]))[sheet + " (xx)"]
    english = parse_all("e.xlsx", workbook([(sheet, "note", header, rows)]))[sheet]
    assert local.report.name == report and not local.problems
    pd.testing.assert_frame_equal(local.rows, english.rows)


def test_a_followers_sheet_in_an_unknown_language_is_refused_but_named_as_a_candidate():
    # A date and four counts is the shape of other platforms' follower tables too: structure
    # alone cannot tell them apart, so the file is refused, with this report among the candidates.
    made_up = [f"Lajur {i}" for i in range(len(FOLLOWERS_HEADER))]
    [table] = read_bytes("x.xlsx", workbook([("Pengikut", None, made_up, FOLLOWER_ROWS)]))
    with pytest.raises(DetectError) as refused:
        detect(table)
    assert "linkedin.new_followers" in str(refused.value)


def localized(entry_key: str, lang: str) -> list[str]:
    """A header in the catalog's words for ``lang``, in the layout's order; a field the language
    table has no name for gets a made-up one (the parser does not need it)."""
    names = catalog.entry(entry_key).aliases[lang]
    return [names[f][0] if f in names else f"列{i}" for i, f in enumerate(catalog.entry(entry_key).layouts[0])]


def test_a_simplified_chinese_workbook_in_the_help_pages_terms_is_read_like_the_english_one():
    data = workbook([
        ("指标", "所选日期范围内主页动态的汇总指标", localized("linkedin:content_metrics", "zh-Hans"), metrics_rows()),
        ("所有动态", "所选日期范围内发布的每条动态的指标", localized("linkedin:content_posts", "zh-Hans"), post_rows()),
    ])
    parsed = parse_all("内容.xlsx", data)
    english = parse_all("c.xlsx", content_workbook())
    assert parsed["指标"].report.name == "linkedin.content_metrics" and not parsed["指标"].problems
    assert parsed["所有动态"].report.name == "linkedin.content_posts" and not parsed["所有动态"].problems
    pd.testing.assert_frame_equal(parsed["指标"].rows, english["Metrics"].rows)
    pd.testing.assert_frame_equal(parsed["所有动态"].rows, english["All posts"].rows)
