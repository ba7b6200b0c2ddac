"""Words for the rough edges of issue 12: a file that is not an export, files a folder import
skipped, a command-line filter that names nothing stored, a port already taken.

Each message is one function (or constant) here and nowhere else, so that translating them (a
later task: Chinese beside English, as dashboard/i18n.py does for the pages) changes this module
and no call site. It sits in ``collectors`` because the reader needs it and ``collectors`` never
imports ``dashboard``; the command line's own messages are here for the same single place.
"""
from __future__ import annotations

from collections import Counter

# Where an export comes from, for every refusal of something that is not one.
EXPORT_ADVICE = "export CSV or XLSX from the platform's analytics page (docs/platforms.md lists where)"

# What a file is (collectors/kinds.py), and what to do instead of importing it.
KINDS = {
    "pdf": "a PDF",
    "docx": "a Word document (DOCX)",
    "doc": "a Word document (DOC)",
    "pptx": "a PowerPoint presentation (PPTX)",
    "ppt": "a PowerPoint presentation (PPT)",
    "odt": "an OpenDocument text (ODT)",
    "odp": "an OpenDocument presentation (ODP)",
    "ods": "an OpenDocument spreadsheet (ODS)",
    "epub": "an e-book (EPUB)",
    "rtf": "a rich-text document (RTF)",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "gif": "a GIF image",
    "webp": "a WebP image",
    "heic": "a HEIC image",
    "avif": "an AVIF image",
    "tiff": "a TIFF image",
    "bmp": "a BMP image",
    "video": "a video (MP4 or QuickTime)",
    "gzip": "a gzip archive",
    "7z": "a 7-Zip archive",
    "rar": "a RAR archive",
}
_SAVE_AS = "open it in Excel or LibreOffice, save it as XLSX or CSV and import that"
_UNPACK = "unpack it and import the CSV or XLSX files inside (ZIP files are read as they are)"
_ADVICE = {"ods": _SAVE_AS, "gzip": _UNPACK, "7z": _UNPACK, "rar": _UNPACK}


def not_an_export(source: str, kind: str) -> str:
    """report.pdf: this is a PDF, not an export; export CSV or XLSX from ..."""
    return f"{source}: this is {KINDS[kind]}, not an export; {_ADVICE.get(kind, EXPORT_ADVICE)}"


def binary_file(source: str) -> str:
    """A file with NUL bytes that no signature names."""
    return f"{source}: this is a binary file, not a CSV export or a workbook; {EXPORT_ADVICE}"


# --- a folder import's skipped files ------------------------------------------------------------

SKIP_REASONS = {  # collectors/kinds.py of_suffix groups
    "pdf": "a PDF, not an export",
    "image": "an image, not an export",
    "video": "a video, not an export",
    "document": "not an export",
    "spreadsheet": "a spreadsheet format that is not read: save it as XLSX or CSV",
    "archive": "an archive that is not read: unpack it (ZIP files are read)",
    "other": "not an export file (.csv, .tsv, .txt, .xlsx, .xls and .zip are read)",
    "none": "no file extension (name an export .csv or .xlsx)",
    "link": "a symbolic link, not followed out of the folder",
}

# Up to this many skipped files are listed one per line; more are counted by suffix in one line.
SKIP_LIST_MAX = 10


def skipped_lines(skipped: list[tuple[str, str]]) -> list[str]:
    """The end of a folder import: [(shown path, group)] as lines, one per file or, when there are
    many, one line for them all: "12 files skipped: 8 .md (not an export), 3 .png (...), ..."."""
    if len(skipped) <= SKIP_LIST_MAX:
        return [f"skipped {shown}: {SKIP_REASONS[group]}" for shown, group in skipped]
    counts = Counter((_suffix(shown, group), group) for shown, group in skipped)
    parts = [f"{n} {suffix} ({SKIP_REASONS[group]})" for (suffix, group), n in counts.most_common()]
    return [f"{len(skipped)} files skipped: " + ", ".join(parts)]


def _suffix(shown: str, group: str) -> str:
    if group == "link":
        return "links"
    name = shown.replace("\\", "/").rsplit("/", 1)[-1]
    return name[name.rfind("."):].lower() if "." in name.lstrip(".") else "without extension"


def import_summary(files: int, imported: int, already: int, failed: int, skipped: int) -> str:
    text = f"{files} file{'s' * (files != 1)}: {imported} imported, {already} already imported, {failed} failed"
    return text + (f"; {skipped} skipped" if skipped else "")


NOTHING_TO_IMPORT = "no importable files found (.csv, .tsv, .txt, .xlsx, .xls, .zip)"


# --- command-line filters -----------------------------------------------------------------------

def _quoted(names) -> str:
    return ", ".join(repr(n) for n in names)


def unknown_filter(option: str, value: str, noun: str, suggestions: list[str], stored: int) -> str:
    """--influencer 'Nobody': no influencer of that name in the database; did you mean 'Noah'?"""
    text = f"{option} {value!r}: no {noun} of that name in the database"
    if suggestions:
        return f"{text}; did you mean {_quoted(suggestions)}?"
    if not stored:
        return f"{text}, which has no {noun}s yet"
    return f"{text} (it has {stored}; `reach export influencers` lists them)" if noun == "influencer" else text


def unknown_platform(value: str, suggestions: list[str], platforms) -> str:
    hint = f"did you mean {_quoted(suggestions)}? " if suggestions else ""
    return f"--platform {value!r} is not a platform; {hint}(one of {', '.join(platforms)})"


def platform_not_stored(value: str, stored: list[str]) -> str:
    has = f"it has {', '.join(stored)}" if stored else "it has no data yet"
    return f"--platform {value!r}: the database has no {value} data; {has}"


def empty_selection(what: str, filters: str, period: str) -> str:
    """An export with no rows whose filters all name stored things: not a mistake (exit 0), said
    on stderr. ``filters``: the options as given ("" for none); ``period``: "from D to D" or ""."""
    who = filters or "the whole campaign"
    return f"note: the {what} export has no rows: nothing for {who}{' ' + period if period else ''}"


# --- reach serve on a busy port -----------------------------------------------------------------

def already_running(url: str) -> str:
    return f"the dashboard is already running at {url} : open it, or stop it first"


def port_taken(port: int) -> str:
    return f"port {port} is taken by another program: choose another with --port"


def port_forbidden(port: int) -> str:
    return f"port {port} needs administrator rights on this machine: choose one above 1023 with --port"


def host_unusable(host: str, why: str) -> str:
    return f"--host {host!r} cannot be served on this machine ({why}): use 127.0.0.1, or an address of this machine"
