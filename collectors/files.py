"""Creating and reading files safely: private modes for what holds data, no symbolic links followed.

The database, its WAL and shared-memory files, the archive, the users file and the cache hold the
campaign's data and the users' password hashes. They are created readable by their owner only
(files 0600, folders 0700): a machine's other accounts (a shared analytics server, a backup
agent's user) must not read them just because the umask is the usual 022. A folder made private
protects everything under it, whatever the modes of the files inside.

The inbox is written to by other people and programs (a sync client, a colleague's shared
folder). A name there may be a symbolic link to any file this process can read (``passwd.csv ->
/etc/passwd``), a FIFO that blocks a reader forever, or a device. ``read_regular`` opens with
``O_NOFOLLOW | O_NONBLOCK`` and checks, on the open descriptor, that it is a regular file: the
check and the read are of the same file, so swapping the name between them changes nothing.
``create_new`` never follows a link at the final name and never overwrites.

SQLite creates a database's -wal and -shm files with the database file's own mode, so the
database file is created here (0600) before SQLite opens it; the umask alone would not do.

``printable`` is for the terminal: text from data (file names, post titles, an API's words) loses
its escape sequences and control characters before the CLI shows it.
"""
from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # 0 on Windows, which has no such links to follow
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


# Terminal control: an ESC sequence whole (CSI ... final byte; OSC/DCS/APC/PM/SOS strings up to BEL
# or ST, unterminated ones to the end; two-byte escapes), then any single C0 or C1 control, DEL,
# and the bidirectional overrides and isolates that reorder what a terminal shows.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|[ -/]*[0-~]?)"
                      r"|[\x9b][0-?]*[ -/]*[@-~]?|[\x90\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?")
_CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x20), *range(0x7f, 0xa0), *range(0x202a, 0x202f),
                                      *range(0x2066, 0x206a)])


def printable(text, keep: str = "\n\t") -> str:
    """``text`` safe to write to a terminal: escape sequences (colours, cursor moves, window titles,
    OSC 52 clipboard writes, hyperlinks) and control characters removed, except those in ``keep``
    (newline and tab by default; ``keep=""`` for one line). For everything shown that comes
    from data: file names, post titles, error messages quoting a file."""
    text = _ESCAPES.sub("", str(text))
    drop = _CONTROLS.translate({ord(c): None for c in keep})
    return text.translate({ord(c): None for c in drop})


class NotRegularFile(OSError):
    """The name is a symbolic link, a folder, a FIFO, a socket or a device: refused unread."""

    def __init__(self, path, what: str):
        super().__init__(f"{path}: {what}")
        self.path, self.what = Path(path), what


def kind(mode: int) -> str:
    """What a file of this st_mode is, in words, for a refusal."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def read_regular(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file itself (not a link to one), else
    NotRegularFile without reading anything. ``limit``: read at most this many bytes."""
    path = Path(path)
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(path, kind(st.st_mode))  # a device or FIFO is never even opened
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY)
    except OSError as e:
        if _NOFOLLOW and e.errno in (errno.ELOOP, errno.EMLINK):  # (EMLINK: BSD) replaced by a link meanwhile
            raise NotRegularFile(path, "a symbolic link") from None
        raise
    with os.fdopen(fd, "rb") as f:
        now = os.fstat(f.fileno())
        if not stat.S_ISREG(now.st_mode):
            raise NotRegularFile(path, kind(now.st_mode))
        return f.read() if limit is None else f.read(limit)


def create_new(path: str | os.PathLike, data: bytes | str, mode: int = 0o666) -> Path:
    """Write a new file at ``path``; FileExistsError if the name is taken, even by a dangling
    symbolic link (which a plain open would follow, creating a file wherever it points)."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def real_dir(path: str | os.PathLike, *, under: str | os.PathLike | None = None, mode: int = 0o777) -> Path:
    """Make the folder ``path`` (and its missing parents) and check that it, and every folder
    between ``under`` and it, is a real folder, not a symbolic link to somewhere else: files
    moved or written into it stay inside ``under``. OSError if one is a link or not a folder."""
    path = Path(path)
    os.makedirs(path, mode=mode, exist_ok=True)
    top = Path(under) if under is not None else path
    parts = [path] if under is None else [top / Path(*path.relative_to(top).parts[:i])
                                          for i in range(1, len(path.relative_to(top).parts) + 1)]
    for p in parts:
        st = os.lstat(p)
        if not stat.S_ISDIR(st.st_mode):
            raise NotRegularFile(p, f"{kind(st.st_mode)}, where a folder was expected")
    return path


def private_dir(path: str | os.PathLike, *, tighten: bool = True, top: str | os.PathLike | None = None) -> Path:
    """Make ``path`` a folder only its owner can enter (0700); folders created on the way get the
    same mode. With ``tighten``, an existing folder of ours that every user can enter loses its
    group and other bits (it was made by a version that did not do this); without, an existing
    folder is left as it is (the folder a database is put in may be the user's home). ``top``: the
    folders from ``top`` down to ``path`` are all made private (the archive and its shards)."""
    path = Path(path)
    missing = []
    p = path
    while not os.path.lexists(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    os.makedirs(path, mode=PRIVATE_DIR, exist_ok=True)
    for p in missing:
        _chmod(p, PRIVATE_DIR)  # makedirs' mode is masked by the umask: be exact
    if tighten:
        chain = [path] if top is None else [Path(top)] + [p for p in path.parents if Path(top) in p.parents] + [path]
        for p in dict.fromkeys(chain):
            _tighten(p, PRIVATE_DIR)
    return path


def private_file(path: str | os.PathLike) -> Path:
    """Make sure ``path`` exists as a file only its owner can read and write (0600): a new file is
    created so (atomically, never through a link); an existing one of ours that others can read
    is tightened. SQLite gives a database's -wal and -shm files the database file's mode, so a
    database created here first keeps those private too."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY, PRIVATE_FILE)
    except FileExistsError:
        _tighten(path, PRIVATE_FILE)
    else:
        os.close(fd)
        _chmod(path, PRIVATE_FILE)
    return path


def tighten_sqlite(path: str | os.PathLike) -> None:
    """A SQLite database and its -wal, -shm and -journal files: readable by their owner only."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(f"{path}{suffix}")
        if os.path.lexists(p):
            _tighten(p, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    """Remove group and other bits from a file or folder of ours that every user can read (the
    default 0644/0755 of older versions); never follow a link, never touch someone else's file,
    and leave a deliberate group share (0640, 0660) alone."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode) or not hasattr(os, "getuid") or st.st_uid != os.getuid():
        return
    if st.st_mode & 0o007:
        _chmod(path, stat.S_IMODE(st.st_mode) & mode)


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except (OSError, NotImplementedError):
        pass  # a file system without modes (FAT, some network shares): nothing to protect with
