"""What a file is when it is not an export: a PDF, a Word or PowerPoint file, an image, a video,
an archive that is not a ZIP.

People import what is in their downloads folder: the platform's report as a PDF, a screenshot of
a chart, the brief as DOCX. Each is recognised by its first bytes, never by its name (a PDF saved
as report.csv is still a PDF), and a ZIP by its members, since XLSX, DOCX, PPTX and OpenDocument
files are all ZIP files. The answer is a key of ``messages.KINDS``, where the words live; None
means "nothing we know": the reader then reads the bytes as it always did. Every signature here
is one that no CSV text can start with (a UTF-8 or GB18030 text never begins with 0x89, 0xFF or
NUL bytes, and the ASCII ones, such as ``%PDF-`` or ``GIF89a``, are no export's first header).
"""
from __future__ import annotations

# ISO base media files (MP4, QuickTime, HEIF): bytes 4-8 are "ftyp", then the major brand.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

_MAGIC = (  # prefix, kind
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"{\\rtf", "rtf"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
)

# An old Office file (OLE2 compound file) names its main stream in UTF-16 in its directory:
# a workbook is left to the reader, which says how to save it as .xlsx.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_STREAMS = (("WordDocument".encode("utf-16-le"), "doc"), ("PowerPoint Document".encode("utf-16-le"), "ppt"))

_ODF = {  # the "mimetype" member of an OpenDocument file (stored first, uncompressed)
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
    b"application/epub+zip": "epub",
}


def of_bytes(data: bytes) -> str | None:
    """The kind of a file that is not a ZIP, from its first bytes; None for anything else."""
    head = data[:32]
    for prefix, kind in _MAGIC:
        if head.startswith(prefix):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "heic" if brand in _HEIF_BRANDS else "avif" if brand in _AVIF_BRANDS else "video"
    # BMP: "BM", the file size, then four reserved zero bytes; a text starting "BM" has no NULs.
    if head[:2] == b"BM" and len(head) >= 14 and head[6:10] == b"\0\0\0\0":
        return "bmp"
    if head.startswith(_OLE):
        for stream, kind in _OLE_STREAMS:
            if data.find(stream) >= 0:
                return kind
    return None


def of_zip(names: list[str], mimetype: bytes | None = None) -> str | None:
    """The kind of a ZIP file by its members: "xlsx", another kind, or None for a plain ZIP
    (which the reader opens for the exports inside it)."""
    members = set(names)
    if "xl/workbook.xml" in members:
        return "xlsx"
    if "word/document.xml" in members:
        return "docx"
    if "ppt/presentation.xml" in members:
        return "pptx"
    if mimetype is not None and mimetype.strip() in _ODF:
        return _ODF[mimetype.strip()]
    return None


# A folder import decides by the name alone: it reads only the files it imports. (Not the bytes:
# a folder of photos must not be read to be skipped.)
SUFFIXES = {
    ".pdf": "pdf",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".webp": "image", ".heic": "image",
    ".heif": "image", ".avif": "image", ".tif": "image", ".tiff": "image", ".bmp": "image", ".svg": "image",
    ".mp4": "video", ".mov": "video", ".m4v": "video", ".avi": "video", ".webm": "video",
    ".docx": "document", ".doc": "document", ".pptx": "document", ".ppt": "document", ".odt": "document",
    ".odp": "document", ".rtf": "document", ".pages": "document", ".key": "document", ".md": "document",
    ".markdown": "document", ".html": "document", ".htm": "document",
    ".ods": "spreadsheet", ".numbers": "spreadsheet",
    ".gz": "archive", ".tgz": "archive", ".7z": "archive", ".rar": "archive", ".tar": "archive",
}


def of_suffix(suffix: str) -> str:
    """The group a file name's suffix puts it in, for a folder import's list of skipped files:
    one of ``SUFFIXES``' values, "none" for no suffix, else "other"."""
    return SUFFIXES.get(suffix.lower(), "other" if suffix else "none")
