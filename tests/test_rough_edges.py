"""Issue 12's rough edges on the command line and in imports: a file that is not an export says
what it is, a folder import lists what it skipped, a filter that names nothing stored exits 2
with "did you mean", and a second `reach serve` on a busy port says who holds it."""
from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib

import pytest

from collectors import messages
from collectors.errors import ReadError
from collectors.pipeline import Importer
from collectors.read import read_bytes
from collectors.store import database

from conftest import ROOT
from test_store import x_content

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"


def run(*args, cwd, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=timeout)


# --- tiny real files, made here ---------------------------------------------------------------

def pdf() -> bytes:
    """A one-page PDF with its cross-reference table (what a browser's "Save as PDF" of an
    analytics page starts with)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def office(main_part: str, content_type: str) -> bytes:
    """An Office Open XML file (DOCX, PPTX) as Word or PowerPoint writes its skeleton."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   f'<Override PartName="/{main_part}" ContentType="{content_type}"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                                  'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                                  'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                                  f'Target="{main_part}"/></Relationships>')
        z.writestr(main_part, '<?xml version="1.0"?><document>Post id,Impressions</document>')
    return buf.getvalue()


def docx() -> bytes:
    return office("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")


def pptx() -> bytes:
    return office("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml")


def png() -> bytes:
    """A 1x1 white PNG: signature, IHDR, IDAT, IEND with their CRCs."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


def gif() -> bytes:
    """A 1x1 GIF89a: header, screen, a two-colour table, one image, the trailer."""
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\xff\xff\xff\x00\x00\x00"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def jpeg() -> bytes:
    """A JFIF JPEG's markers: SOI, APP0 JFIF, a quantisation table, SOF0 1x1, EOI."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\x00" + bytes([1] * 64)
    sof = b"\x08\x00\x01\x00\x01\x01\x01\x11\x00"
    seg = lambda m, d: b"\xff" + m + struct.pack(">H", len(d) + 2) + d  # noqa: E731
    return b"\xff\xd8" + seg(b"\xe0", app0) + seg(b"\xdb", dqt) + seg(b"\xc0", sof) + b"\xff\xd9"


def webp() -> bytes:
    """A lossless 1x1 WebP: the RIFF container and its VP8L chunk."""
    vp8l = b"\x2f\x00\x00\x00\x00\x88\x88\x08\x00"
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l + b"\x00" * (len(vp8l) % 2)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def heic() -> bytes:
    """An iPhone photo's first box: ftyp with the heic brand (then an empty meta box)."""
    ftyp = b"ftyp" + b"heic" + b"\x00\x00\x00\x00" + b"mif1heic"
    meta = b"meta" + b"\x00\x00\x00\x00"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(meta) + 4) + meta


NOT_EXPORTS = [  # (file name, bytes, what the message calls it)
    ("report.pdf", pdf, "a PDF"),
    ("brief.docx", docx, "a Word document (DOCX)"),
    ("deck.pptx", pptx, "a PowerPoint presentation (PPTX)"),
    ("chart.png", png, "a PNG image"),
    ("photo.jpg", jpeg, "a JPEG image"),
    ("anim.gif", gif, "a GIF image"),
    ("shot.webp", webp, "a WebP image"),
    ("IMG_0001.heic", heic, "a HEIC image"),
]
ADVICE = "export CSV or XLSX from the platform's analytics page (docs/platforms.md lists where)"


# --- 2. a file that is not an export says what it is ----------------------------------------------

@pytest.mark.parametrize("name, make, kind", NOT_EXPORTS, ids=[n for n, _, _ in NOT_EXPORTS])
def test_a_pdf_a_document_or_an_image_is_named_as_such_whatever_the_file_is_called(name, make, kind):
    data = make()
    for called in (name, "export.csv", "export.xlsx"):  # by its bytes, never its name
        with pytest.raises(ReadError) as e:
            read_bytes(called, data)
        assert str(e.value) == f"{called}: this is {kind}, not an export; {ADVICE}"


def test_a_real_workbook_and_a_zip_of_csv_files_are_still_read():
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Post id", "Impressions"])
    wb.active.append(["1", "5"])
    buf = io.BytesIO()
    wb.save(buf)
    [t] = read_bytes("book.xlsx", buf.getvalue())
    assert t.header == ["Post id", "Impressions"]
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("Table data.csv", "Post id,Impressions\n1,5\n")
        z.writestr("README.pdf", pdf())  # a PDF beside the data is not data, and not an error
    [t] = read_bytes("export.zip", zbuf.getvalue())
    assert t.header == ["Post id", "Impressions"]


def test_an_opendocument_spreadsheet_and_a_gzip_say_what_to_do_instead():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(ReadError, match=r"^sheet\.ods: this is an OpenDocument spreadsheet \(ODS\), not an export; "
                                        r"open it in Excel or LibreOffice, save it as XLSX or CSV"):
        read_bytes("sheet.ods", buf.getvalue())
    import gzip

    with pytest.raises(ReadError, match=r"^x\.csv\.gz: this is a gzip archive, not an export; unpack it"):
        read_bytes("x.csv.gz", gzip.compress(b"Post id\n1\n"))


def test_any_other_binary_file_is_refused_with_where_an_export_comes_from():
    data = bytes(range(256)) * 4  # NUL bytes, no known signature
    with pytest.raises(ReadError) as e:
        read_bytes("dump.bin", data)
    assert str(e.value) == f"dump.bin: this is a binary file, not a CSV export or a workbook; {ADVICE}"


def test_reach_import_of_a_pdf_fails_with_the_message_and_no_traceback(tmp_path):
    f = tmp_path / "report.pdf"
    f.write_bytes(pdf())
    r = run("import", str(f), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.strip() == f"FAILED  {f}: this is a PDF, not an export; {ADVICE}"
    assert "Traceback" not in r.stderr and "no table" not in r.stdout


def test_a_folder_import_reads_a_pdf_saved_under_an_export_name_and_says_what_it_is(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / X_NAME).write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    (folder / "Content.csv").write_bytes(png())  # a screenshot saved over an export's name
    engine = database.connect(str(tmp_path / "reach.db"))
    results = Importer(engine, None).import_paths([folder])
    engine.dispose()
    assert [r.status for r in results] == ["failed", "imported"]
    assert results[0].line() == f"FAILED  {folder / 'Content.csv'}: this is a PNG image, not an export; {ADVICE}"


def test_the_data_page_upload_says_what_the_file_is(tmp_path):
    import base64

    from dashboard.web.pages import data as page

    engine = database.connect(str(tmp_path / "reach.db"))
    uploads = [f"data:application/octet-stream;base64,{base64.b64encode(make()).decode()}" for _, make, _ in NOT_EXPORTS]
    results = page.import_uploads(engine, None, [n for n, _, _ in NOT_EXPORTS], uploads)
    engine.dispose()
    for (name, _, kind), r in zip(NOT_EXPORTS, results):
        assert r.status == "failed"
        assert f"{name}: this is {kind}, not an export; {ADVICE}" in str(page.result_view(r, "en"))


def test_the_docs_the_advice_points_to_list_where_every_platform_exports():
    from collectors.model import PLATFORM_LABELS

    doc = (ROOT / "docs" / "platforms.md").read_text(encoding="utf-8")
    assert "docs/platforms.md" in messages.EXPORT_ADVICE
    section = doc.split("## Where each export comes from", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    # "Weibo, Bilibili" names two; "WeChat Official Account" is WeChat
    named = {name.strip().split(" ")[0] for line in rows for name in line.split("|")[1].split(",")}
    for label in PLATFORM_LABELS.values():
        assert label in named, f"{label} has no row in docs/platforms.md's list of where exports come from"


# --- 3. a folder import lists what it skipped -----------------------------------------------------

def test_a_folder_import_lists_each_skipped_file_and_why_and_counts_them(tmp_path):
    folder = tmp_path / "exports"
    (folder / "shots").mkdir(parents=True)
    (folder / X_NAME).write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    (folder / "README.md").write_text("# where these came from\n", encoding="utf-8")
    (folder / "report.pdf").write_bytes(pdf())
    (folder / "shots" / "chart.png").write_bytes(png())
    (folder / "notes").write_text("no extension\n", encoding="utf-8")
    (folder / "api.json").write_text("{}", encoding="utf-8")
    os.symlink(tmp_path / "elsewhere.csv", folder / "linked.csv")
    # Silent: hidden files and folders, and the archive (its copies are named by digest).
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    archive = folder / "archive"
    first = run("import", str(folder / X_NAME), "--db", str(tmp_path / "reach.db"), "--archive", str(archive),
                cwd=tmp_path)
    assert first.returncode == 0 and any(archive.rglob("manifest.jsonl")), first.stdout + first.stderr

    r = run("import", str(folder), "--db", str(tmp_path / "reach.db"), "--archive", str(archive), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("same    ") and X_NAME in lines[0]
    assert lines[1:] == [
        f"skipped {folder / 'README.md'}: not an export",
        f"skipped {folder / 'api.json'}: not an export file (.csv, .tsv, .txt, .xlsx, .xls and .zip are read)",
        f"skipped {folder / 'linked.csv'}: a symbolic link, not followed out of the folder",
        f"skipped {folder / 'notes'}: no file extension (name an export .csv or .xlsx)",
        f"skipped {folder / 'report.pdf'}: a PDF, not an export",
        f"skipped {folder / 'shots' / 'chart.png'}: an image, not an export",
        "1 file: 0 imported, 1 already imported, 0 failed; 6 skipped",
    ]


def test_many_skipped_files_are_counted_by_kind_in_one_line(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / X_NAME).write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    for i in range(8):
        (folder / f"note{i}.md").write_text("notes\n")
    for i in range(3):
        (folder / f"chart{i}.PNG").write_bytes(png())
    (folder / "api.json").write_text("{}")
    r = run("import", str(folder), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[1:] == [
        "12 files skipped: 8 .md (not an export), 3 .png (an image, not an export), "
        "1 .json (not an export file (.csv, .tsv, .txt, .xlsx, .xls and .zip are read))",
        "1 file: 1 imported, 0 already imported, 0 failed; 12 skipped",
    ]


def test_a_folder_of_nothing_importable_says_what_it_skipped_and_fails(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(pdf())
    r = run("import", str(folder), cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [f"skipped {folder / 'report.pdf'}: a PDF, not an export",
                                     messages.NOTHING_TO_IMPORT]


def test_files_named_on_the_command_line_are_never_skipped_by_their_name(tmp_path):
    from collectors.pipeline import walk

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("x")
    (folder / "b.md").write_text("x")
    given = tmp_path / "report.pdf"
    files, skipped = walk([folder, given])
    assert files == [folder / "a.csv", given]  # a file given by name is read: its bytes say what it is
    assert skipped == [(folder / "b.md", "document")]
    assert walk([folder], quiet=[folder]) == ([], [])


# --- 1. a filter that names nothing stored exits 2 with "did you mean" -----------------------------

ROSTER = ("name,category,platform,handle,account_id\n"
          "Pan Yifei 潘一飞,entrepreneur,x,jinhub_yiwu,\n"
          "José Núñez,journalist,x,jose_n,\n").encode()


def _small_db(tmp_path):
    from dashboard.cli import main

    db = tmp_path / "reach.db"
    (tmp_path / "roster.csv").write_bytes(ROSTER)
    (tmp_path / X_NAME).write_bytes(x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 9)]))
    other = tmp_path / "account_analytics_content_2024-12-16_2024-12-23.csv"
    other.write_bytes(x_content([("1870000000000000003", 50, 1)], handle="market_wu"))
    assert main(["roster", "import", str(tmp_path / "roster.csv"), "--db", str(db)]) == 0
    assert main(["import", str(tmp_path / X_NAME), str(other), "--db", str(db)]) == 0
    return db


@pytest.fixture
def small_db(tmp_path):
    """Pan Yifei 潘一飞 with two X posts (22 Dec 2024), José Núñez in the roster without a post, and
    one account no roster names."""
    return _small_db(tmp_path)


@pytest.fixture(scope="module")
def refusing_db(tmp_path_factory):
    """``small_db`` once for the module, for the 36 refusals that must leave it as it is."""
    return _small_db(tmp_path_factory.mktemp("refusals"))


def export(db, capsysbinary, *args):
    from dashboard.cli import main

    capsysbinary.readouterr()
    code = main(["export", *args, "--db", str(db)])
    out, err = capsysbinary.readouterr()
    return code, out.decode("utf-8-sig"), err.decode()


@pytest.mark.parametrize("args, said", [
    (["--influencer", "潘一飞"], "--influencer '潘一飞': no influencer of that name in the database; "
                                "did you mean 'Pan Yifei 潘一飞'?"),
    (["--influencer", "jose nunez"], "--influencer 'jose nunez': no influencer of that name in the database; "
                                     "did you mean 'José Núñez'?"),
    (["--influencer", "PAN YIFEI"], "did you mean 'Pan Yifei 潘一飞'?"),
    (["--influencer", "Pan Yifie 潘一飞"], "did you mean 'Pan Yifei 潘一飞'?"),
    (["--influencer", "market_wu"], "did you mean 'market_wu (unassigned)'?"),
    (["--influencer", "Nobody"], "--influencer 'Nobody': no influencer of that name in the database "
                                 "(it has 3; `reach export influencers` lists them)"),
    (["--platform", "twitter"], "--platform 'twitter' is not a platform; did you mean 'x'? (one of x, facebook"),
    (["--platform", "YouTube"], "did you mean 'youtube'?"),
    (["--platform", "weibo"], "--platform 'weibo': the database has no weibo data; it has x"),
])
@pytest.mark.parametrize("what", ["daily", "weekly", "posts", "influencers"])
def test_a_filter_that_names_nothing_stored_exits_2_with_the_closest_names(refusing_db, capsysbinary, what, args, said):
    code, out, err = export(refusing_db, capsysbinary, what, *args)
    assert code == 2
    assert out == ""  # refused before anything is written
    assert err.startswith("error: ") and err.count("\n") == 1 and said in err, err


def test_a_filter_that_matches_is_exported_and_an_empty_period_is_said_but_exits_0(small_db, capsysbinary):
    code, out, err = export(small_db, capsysbinary, "posts", "--influencer", "Pan Yifei 潘一飞")
    assert code == 0 and err == ""
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == ["1870000000000000001", "1870000000000000002"]
    # The names match; the days hold nothing: an empty period, not a mistake.
    code, out, err = export(small_db, capsysbinary, "daily", "--influencer", "Pan Yifei 潘一飞",
                            "--from", "2025-03-01", "--to", "2025-03-31")
    assert code == 0 and out.count("\n") == 1  # the header
    assert err == ("note: the daily export has no rows: nothing for --influencer 'Pan Yifei 潘一飞' "
                   "from 2025-03-01 to 2025-03-31\n")
    # In the roster, with no post yet: a stored name too.
    code, out, err = export(small_db, capsysbinary, "posts", "--influencer", "José Núñez")
    assert code == 0 and out.count("\n") == 1
    # Without dates: the campaign window (as on the pages), which the note names.
    assert err == ("note: the posts export has no rows: nothing for --influencer 'José Núñez' "
                   "in the campaign window, 2024-12-16 to 2025-01-26\n")


def test_the_command_line_exits_2_without_a_traceback_on_an_unknown_influencer(small_db, tmp_path):
    r = run("export", "daily", "--influencer", "Nobody", "--db", str(small_db), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: --influencer 'Nobody': ") and "Traceback" not in r.stderr


def test_closest_names_ignore_case_and_accents_and_find_chinese_names_inside_longer_ones():
    from collectors.names import closest

    names = ["Pan Yifei 潘一飞", "PanYifei (unassigned)", "José Núñez", "Kofi Asantewaa-Boadu", "Li Na"]
    assert closest("潘一飞", names) == ["Pan Yifei 潘一飞"]
    assert closest("JOSE NUNEZ", names) == ["José Núñez"]
    assert closest("kofi", names) == ["Kofi Asantewaa-Boadu"]
    assert closest("Kofi Asantewa-Boadu", names) == ["Kofi Asantewaa-Boadu"]
    assert set(closest("panyifei", names)) == {"Pan Yifei 潘一飞", "PanYifei (unassigned)"}
    assert closest("Nobody", names) == [] and closest("  ", names) == []


# --- 4. a second `reach serve` on a busy port -----------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_a_port_another_program_listens_on_says_so_before_printing_anything(tmp_path):
    import socket

    with socket.socket() as s:  # listens, never answers: not an HTTP server at all
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run("serve", "--port", str(port), "--db", str(tmp_path / "reach.db"), cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    assert r.stdout == ""  # no URL printed first
    assert r.stderr == f"error: port {port} is taken by another program: choose another with --port\n"


def test_serve_on_a_port_another_web_server_answers_on_is_another_program(tmp_path):
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        r = run("serve", "--port", str(port), "--db", str(tmp_path / "reach.db"), cwd=tmp_path, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"error: port {port} is taken by another program: choose another with --port\n"


def test_a_second_reach_serve_on_the_same_port_says_the_dashboard_is_already_running(tmp_path):
    import time

    from dashboard.web.app import _answers_as_dashboard

    port = _free_port()
    first = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--port", str(port),
                              "--db", str(tmp_path / "first.db")], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while not _answers_as_dashboard("127.0.0.1", port, timeout=1):
            assert first.poll() is None, f"the first server stopped: {first.communicate()}"
            assert time.monotonic() < deadline, "the first server did not answer within 120 s"
            time.sleep(0.3)
        second = run("serve", "--port", str(port), "--db", str(tmp_path / "second.db"), cwd=tmp_path, timeout=60)
        assert second.returncode == 2 and second.stdout == ""
        assert second.stderr == (f"error: the dashboard is already running at http://127.0.0.1:{port}/ : "
                                 "open it, or stop it first\n")
        assert not (tmp_path / "second.db").exists()  # refused before the database was opened
        assert first.poll() is None  # and the first one is untouched
    finally:
        first.terminate()
        try:
            first.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            first.kill()
            first.communicate()


def test_a_free_port_passes_the_check_and_a_port_out_of_range_is_a_usage_error():
    from collectors.errors import UsageError
    from dashboard.web.app import check_port

    check_port("127.0.0.1", _free_port())
    with pytest.raises(UsageError, match="choose a port from 1 to 65535"):
        check_port("127.0.0.1", 70000)
