"""The inbox: `reach watch DIR` imports each file dropped into a folder, once, and files it away.

A file is imported once it has stopped growing: its size and modification time unchanged for the
settle time. A file first seen with an old modification time has been still since then; a change
the watcher sees restarts the wait on the watcher's own clock (a network share's may differ).
Polling, not inotify: it works the same on network shares and sync folders, and a poll every
second costs nothing next to an import.

Each ready file is first *claimed*: renamed into ``.claimed/<claim>/`` inside the inbox. A rename is
atomic, so when two watchers (or a watcher started twice by mistake) see the same file, exactly one
of them gets it; the other finds it gone and moves on. The claimed file is imported through the
same pipeline as `reach import` (passed in as ``import_file``; with REACH_REDIS it hands the file to the
Celery workers and returns a ``Pending`` result: a look's files are all sent before the first result
is waited for), then moved to ``processed/`` (imported,
or already imported: the same bytes were there before) or to ``failed/`` with ``NAME.error.txt``
beside it saying why. A file imported with rejected rows goes to ``processed/`` with
``NAME.rejected.txt`` listing them. Names are kept; a name already taken gets `` (1)``, `` (2)``...:
nothing is ever overwritten. A claim left behind by a watcher that died (its process is gone, or
the claim is older than ``claim_timeout``) is put back into the inbox and imported again, which is
safe: a file is imported whole or not at all, and the same bytes twice change nothing.

Left alone, never moved: hidden files and folders, temporary names of downloads in progress
(``.part``, ``.crdownload``, ``.download``, ``.tmp``...), Excel lock files (``~$...``), empty files (a
browser's placeholder while the real file downloads beside it), and a file while a ``.part`` or
``.crdownload`` of the same name is beside it. A settled file whose name is not an export file
(``.pdf``, ``.docx``) goes to ``failed/`` with the reason, so the inbox empties and the user sees why.

Only regular files are read, and only through their own name inside the inbox: a symbolic link
(``passwd.csv -> /etc/passwd``, a link to an export kept elsewhere, a linked folder), a named pipe,
a socket, a device, or a hard link to a file others may not read (a second name of a private file
kept elsewhere) is claimed like any file and moved, itself, to ``failed/`` with the reason,
without its target ever being opened (``files.read_regular``: ``O_NOFOLLOW``, and the type checked
on the open descriptor). A file swapped for another between the look and the claim is put back
(its inode changed), and ``processed/``, ``failed/`` and ``.claimed/`` must be real folders: files
are never moved or written through a link to somewhere else, and a sidecar never follows a link
planted at its name. Whoever can write into the inbox can make the watcher read only what they
could have put there themselves.

Everything that waits takes an injectable clock and sleep, so tests run without sleeping.
"""
from __future__ import annotations

import os
import secrets
import socket
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Protocol

from . import crash, files
from .errors import ReachError
from .pipeline import IMPORTABLE, FileResult

PROCESSED, FAILED, CLAIMS = "processed", "failed", ".claimed"
TEMPORARY_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".opdownload", ".tmp")
DOWNLOAD_SIBLINGS = (".part", ".crdownload", ".download")  # Firefox, Chrome/Edge, Safari
SYSTEM_FILES = {"thumbs.db", "desktop.ini"}
# A file that was being imported each time a watcher died (killed, out of memory) is not tried a
# third time: it goes to failed/ instead of back into the inbox, or a poison file would take every
# restarted watcher down with it, for ever.
MAX_DEATHS = 2
DEATHS_FILE = "deaths.json"  # in .claimed/: how often each file was left behind by a dead watcher
CLAIM_TIMEOUT_S = 3600.0  # a claim this old is abandoned even if its process seems alive (another host)

class Pending(Protocol):
    """An import handed elsewhere (a Celery worker): its result, once it is done."""

    def wait(self) -> FileResult: ...


# (file name, bytes, name to show) -> the result, or a Pending one when the import runs elsewhere
ImportFile = Callable[[str, bytes, str], "FileResult | Pending"]


@dataclass
class Outcome:
    """What happened to one file: the result and where the file is now."""

    rel: str  # the file's path inside the inbox when it was found
    result: FileResult
    moved_to: Path | None  # None when another watcher took the file first
    line: str


@dataclass
class _Seen:
    signature: tuple[int, int]  # size, mtime_ns
    since: float  # clock time from which it has looked like this


@dataclass
class Watcher:
    inbox: Path
    import_file: ImportFile
    settle: float = 2.0
    poll_every: float = 1.0
    after: Callable[[list[FileResult]], None] | None = None  # once per batch (rollups refresh)
    idle: Callable[[], None] | None = None  # after every look at the inbox (publish what waits: rollups)
    out: Callable[[str], None] = print
    clock: Callable[[], float] = time.time  # wall clock: compared with file modification times
    sleep: Callable[[float], None] = time.sleep
    claim_timeout: float = CLAIM_TIMEOUT_S
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    stopping: bool = False
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _stuck: dict[str, tuple[int, int]] = field(default_factory=dict)  # could not be claimed, as it looked then
    _found: dict[str, os.stat_result] = field(default_factory=dict)  # lstat of each ready file, at the last look
    _token: str = field(default_factory=lambda: secrets.token_hex(4))
    _claims: int = 0

    def __post_init__(self):
        self.inbox = Path(self.inbox)

    # --- the loop ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the file being imported, then stop (Ctrl-C, SIGTERM)."""
        self.stopping = True

    def run(self) -> None:
        """Poll until stop() is called."""
        while not self.stopping:
            self.poll()
            if self.idle is not None and not self.stopping:
                self.idle()
            if not self.stopping:
                self.sleep(self.poll_every)

    def run_once(self) -> list[Outcome]:
        """Process what is ready now; say which files were left for the next run, and why."""
        outcomes = self.poll()
        if not self.stopping:
            for rel, why in self.waiting():
                self.out(f"wait    {rel}: {why}; left for the next run")
        return outcomes

    def drain(self, timeout: float) -> list[Outcome]:
        """Poll until nothing importable is waiting (or ``timeout`` seconds have passed)."""
        outcomes = self.poll()
        deadline = self.clock() + timeout
        while not self.stopping and self.waiting() and self.clock() < deadline:
            self.sleep(self.poll_every)
            outcomes += self.poll()
        return outcomes

    def poll(self) -> list[Outcome]:
        """One look at the inbox: recover abandoned claims, import every ready file, refresh."""
        self.check_folders()
        self.recover_claims()
        outcomes: list[Outcome] = []
        # Files whose import was handed elsewhere (the workers): all of this look's files are sent
        # before the first result is waited for, so that several workers import them side by side.
        sent: list[tuple[str, Path, Path, Pending]] = []

        def done(o):
            outcomes.append(o)
            self.out(o.line)

        try:
            for rel in self.ready():
                if self.stopping:
                    break
                claim = self._claim(rel)
                if claim is None:
                    continue
                started = self._start(rel, *claim)
                if isinstance(started, FileResult):
                    done(self._finish(rel, *claim, started))
                else:
                    sent.append((rel, *claim, started))
            while sent:
                item = sent.pop(0)
                done(self._finish(*item))  # interrupted, it puts its own file back
        except BaseException:
            for rel, claim_dir, claimed, _ in sent:  # sent and not waited for: back into the inbox too
                self._put_back(rel, claim_dir, claimed)
            raise
        finally:
            # Even when interrupted between files: what was imported gets its rollups.
            done = [o.result for o in outcomes if o.result.status == "imported"]
            if done and self.after is not None:
                self.after(done)
        return outcomes

    # --- which files ------------------------------------------------------------------------

    def check_folders(self) -> None:
        """processed/, failed/ and .claimed/ must be real folders in the inbox: a symbolic link there
        would move the inbox's files (and error texts) to wherever it points, and a linked
        .claimed/ would bring a foreign folder's files in as abandoned claims."""
        for name in (PROCESSED, FAILED, CLAIMS):
            path = self.inbox / name
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise ReachError(f"{path} is {files.kind(st.st_mode)}, not a folder: the watcher moves files "
                                 f"only into real folders of the inbox; remove it (or rename it) and start again")

    def candidates(self) -> dict[str, os.stat_result]:
        """Names in the inbox (subfolders too, but not processed/, failed/ or hidden ones) that are
        not left alone by name, with their lstat: regular files, and anything else (a symbolic
        link, even to a folder; a FIFO; a device) that is to be refused."""
        found: dict[str, os.stat_result] = {}
        for top, dirs, names_here in os.walk(self.inbox):  # never descends into a linked folder
            here = Path(top)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and not (here == self.inbox and d in (PROCESSED, FAILED)))
            linked = []
            for d in dirs:
                try:
                    if stat.S_ISLNK(os.lstat(here / d).st_mode):
                        linked.append(d)
                except OSError:
                    linked.append(d)  # gone meanwhile: not walked
            dirs[:] = [d for d in dirs if d not in linked]
            names = set(names_here)
            for name in sorted(names_here + linked):
                if ignored(name) or any(name + s in names for s in DOWNLOAD_SIBLINGS):
                    continue
                path = here / name
                try:
                    st = os.lstat(path)
                except OSError:
                    continue  # gone meanwhile
                found[path.relative_to(self.inbox).as_posix()] = st
        return found

    def ready(self) -> list[str]:
        """Candidates unchanged for the settle time, oldest first."""
        now = self.clock()
        found = self.candidates()
        for rel in list(self._seen):
            if rel not in found:
                del self._seen[rel]
        out = []
        for rel, st in found.items():
            sig = (st.st_size, st.st_mtime_ns)
            seen = self._seen.get(rel)
            if seen is None:
                # First sight: it has looked like this at least since it was last modified.
                seen = self._seen[rel] = _Seen(sig, min(now, st.st_mtime))
            elif seen.signature != sig:
                seen = self._seen[rel] = _Seen(sig, now)
            if self._stuck.get(rel) == sig:
                continue  # said once already; tried again when the file changes
            if not stat.S_ISREG(st.st_mode):
                out.append((st.st_mtime, rel))  # refused at once, unread: there is nothing to wait for
            elif st.st_size > 0 and now - seen.since >= self.settle:
                out.append((st.st_mtime, rel))
        self._found = found
        return [rel for _, rel in sorted(out)]

    def waiting(self) -> list[tuple[str, str]]:
        """Candidates not imported yet, with the reason."""
        now = self.clock()
        out = []
        for rel, st in self.candidates().items():
            seen = self._seen.get(rel)
            if not stat.S_ISREG(st.st_mode):
                continue  # refused at the next look, not waited for
            if st.st_size == 0:
                out.append((rel, "empty (a download that has not finished?)"))
            elif seen is None or seen.signature != (st.st_size, st.st_mtime_ns):
                out.append((rel, "changed since the last look"))
            else:
                out.append((rel, f"still being written (unchanged for {max(0.0, now - seen.since):.1f} s "
                                 f"of the {self.settle:g} s settle time)"))
        return out

    # --- one file ---------------------------------------------------------------------------

    def process(self, rel: str) -> Outcome | None:
        """Claim, import and file away one file; None when another watcher claimed it first."""
        claim = self._claim(rel)
        if claim is None:
            return None
        return self._finish(rel, *claim, self._start(rel, *claim))

    def _claim(self, rel: str) -> tuple[Path, Path] | None:
        """Move the file into a claim folder of its own: (claim folder, claimed file), or None when
        another watcher took it first or it changed on the way."""
        claim_dir = self._new_claim_dir()
        claimed = claim_dir / rel
        try:
            claimed.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.inbox / rel, claimed)
        except FileNotFoundError:
            _remove_tree(claim_dir)
            self._seen.pop(rel, None)
            return None
        except OSError as e:  # a read-only inbox, a file someone else owns
            _remove_tree(claim_dir)
            seen = self._seen.get(rel)
            if seen is not None:
                self._stuck[rel] = seen.signature
            self.out(f"skip    {rel}: cannot move it out of the inbox ({e.strerror or e}); left alone")
            return None
        self._seen.pop(rel, None)
        self._stuck.pop(rel, None)
        looked = self._found.pop(rel, None)
        try:
            now = os.lstat(claimed)
        except OSError:
            now = None
        if looked is not None and (now is None or _identity(now) != _identity(looked)):
            # Not the file that was looked at: the name, or a folder on its way, was swapped (for a
            # link to somewhere else) meanwhile. Put back what was taken, wherever it came from.
            try:
                os.rename(claimed, self.inbox / rel)
            except OSError:
                pass  # left claimed: refused or put back by a later look
            _remove_tree(claim_dir)
            self.out(f"skip    {rel}: it changed while it was being claimed; looked at again later")
            return None
        return claim_dir, claimed

    def _start(self, rel: str, claim_dir: Path, claimed: Path) -> "FileResult | Pending":
        try:
            return self._import(rel, claimed)
        except BaseException:
            self._put_back(rel, claim_dir, claimed)
            raise

    def _put_back(self, rel: str, claim_dir: Path, claimed: Path) -> None:
        """Ctrl-C twice, or the process is being killed: the import rolled back (or a worker finds
        the file imported when it comes again), so the file goes back where it was, for the next run."""
        try:
            _move_unique(claimed, self.inbox / rel, inbox=self.inbox)
            _remove_tree(claim_dir)
        except OSError:
            pass  # left claimed: the next watcher puts it back (recover_claims)

    def _finish(self, rel: str, claim_dir: Path, claimed: Path, started: "FileResult | Pending") -> Outcome:
        """Wait for the result (when the import runs elsewhere), then file the file away."""
        if isinstance(started, FileResult):
            result = started
        else:
            try:
                result = started.wait()
            except Exception as e:  # noqa: BLE001 - as an import's own error: the file fails, the watcher goes on
                result = FileResult(rel, "failed", message=f"{rel}: internal error while importing "
                                                           f"({type(e).__name__}: {e}); please report it")
            except BaseException:
                self._put_back(rel, claim_dir, claimed)
                raise
        try:
            crash.point("move")  # imported, still claimed: a restart puts it back and finds it imported
            moved = self._file_away(rel, claimed, result)
        except OSError as e:
            # Imported (or not) all the same; the file stays claimed, and a watcher started later
            # puts it back into the inbox.
            line = self._line(result, None).rsplit(" -> ", 1)[0]
            return Outcome(rel, result, None, f"{line} -> left in {claimed.relative_to(self.inbox).as_posix()}: "
                                              f"cannot move it ({e.strerror or e})")
        _remove_tree(claim_dir)
        return Outcome(rel, result, moved, self._line(result, moved))

    def _import(self, rel: str, claimed: Path) -> FileResult:
        name = Path(rel).name
        suffix = Path(name).suffix.lower()
        try:
            st = os.lstat(claimed)
        except OSError as e:
            return FileResult(rel, "failed", message=f"{rel}: cannot read the file: {e.strerror or e}")
        if not stat.S_ISREG(st.st_mode):
            return FileResult(rel, "failed", message=_refusal(rel, files.kind(st.st_mode)))
        if st.st_nlink > 1 and not st.st_mode & stat.S_IROTH:
            # A hard link is a second name of a file kept elsewhere. Where the system lets anyone
            # link any file they can reach (no protected_hardlinks, macOS), a private file linked
            # into a shared inbox would be read with this process's rights: refused, unread.
            return FileResult(rel, "failed", message=_refusal(
                rel, "a hard link to a file kept elsewhere that only its owner may read"))
        if suffix not in IMPORTABLE:
            return FileResult(rel, "failed", message=f"{rel}: not an export file: {suffix or 'no extension'} is not "
                                                     f"one of {', '.join(IMPORTABLE)}")
        try:
            data = files.read_regular(claimed)
        except files.NotRegularFile as e:  # swapped for a link or a FIFO after the look above
            return FileResult(rel, "failed", message=_refusal(rel, e.what))
        except OSError as e:
            return FileResult(rel, "failed", message=f"{rel}: cannot read the file: {e.strerror or e}")
        try:
            return self.import_file(name, data, rel)
        except Exception as e:  # noqa: BLE001 - a bug on one file must not stop the watcher or loop on it
            return FileResult(rel, "failed", message=f"{rel}: internal error while importing "
                                                     f"({type(e).__name__}: {e}); please report it")

    def _file_away(self, rel: str, claimed: Path, r: FileResult) -> Path | None:
        folder = FAILED if r.status == "failed" else PROCESSED
        sidecar = ".error.txt" if r.status == "failed" else (".rejected.txt" if r.problems else None)
        key = _death_key(claimed, rel)
        try:
            dest = _move_unique(claimed, self.inbox / folder / rel, sidecars=(".error.txt", ".rejected.txt"),
                                inbox=self.inbox)
        except FileNotFoundError:
            return None  # an abandoned-claim recovery took it meanwhile; it will say so itself
        self._deaths(forget=key)
        if sidecar == ".error.txt":
            _write_text(dest.with_name(dest.name + sidecar), _error_text(rel, r))
        elif sidecar == ".rejected.txt":
            _write_text(dest.with_name(dest.name + sidecar), _rejected_text(rel, r))
        return dest

    def _line(self, r: FileResult, moved: Path | None) -> str:
        text = " ".join(r.line().splitlines())  # one line, whatever the message holds
        if r.status == "imported" and r.problems:
            said, listed = f"; {r.rejected} row{'' if r.rejected == 1 else 's'} rejected", f" (listed in {self._shown(moved, '.rejected.txt')})"
            text = text.replace(said, said + listed, 1) if said in text else text + listed
        if moved is None:
            return text + " -> moved away by another watcher meanwhile"
        if r.status == "failed":
            return text + f" -> {self._shown(moved, '')}, reason in {self._shown(moved, '.error.txt')}"
        return text + f" -> {self._shown(moved, '')}"

    def _shown(self, moved: Path | None, sidecar: str) -> str:
        if moved is None:
            return "?"
        return (moved.with_name(moved.name + sidecar)).relative_to(self.inbox).as_posix()

    # --- claims -----------------------------------------------------------------------------

    def _new_claim_dir(self) -> Path:
        self._claims += 1
        return self.inbox / CLAIMS / f"{self.host}~{self.pid}~{self._token}~{self._claims}"

    def recover_claims(self) -> list[str]:
        """Put files claimed by a watcher that is gone back into the inbox."""
        root = self.inbox / CLAIMS
        if not _is_real_dir(root):
            return []
        back = []
        for d in sorted(root.iterdir()):
            if not _is_real_dir(d) or not self._abandoned(d):
                continue
            for top, dirs, names in os.walk(d):  # a linked folder is listed, never entered
                for name in names + [x for x in dirs if os.path.islink(Path(top) / x)]:
                    src = Path(top) / name
                    rel = src.relative_to(d)
                    if self._died_on(src, rel.as_posix()):
                        continue
                    try:
                        dest = _move_unique(src, self.inbox / rel, inbox=self.inbox)
                    except FileNotFoundError:
                        continue  # another watcher recovered it first
                    back.append(dest.relative_to(self.inbox).as_posix())
                    self.out(f"back    {dest.relative_to(self.inbox).as_posix()}: left claimed by a watcher "
                             f"that stopped ({d.name}); back in the inbox")
            _remove_tree(d)
        return back

    def _deaths(self, *, add: str | None = None, forget: str | None = None) -> int:
        """The ledger of watcher deaths (``.claimed/deaths.json``): count one more for ``add``, or
        drop ``forget`` once its file is filed away; the file is removed when it holds nothing."""
        import json

        ledger = self.inbox / CLAIMS / DEATHS_FILE
        if add is None and not os.path.lexists(ledger):
            return 0
        try:
            deaths = json.loads(ledger.read_text(encoding="utf-8")) if ledger.is_file() and not ledger.is_symlink() else {}
        except (OSError, ValueError):
            deaths = {}
        if add is not None:
            deaths[add] = deaths.get(add, 0) + 1
        elif forget not in deaths:
            return 0
        else:
            deaths.pop(forget)
        deaths = dict(list(deaths.items())[-1000:])  # small: only recent deaths matter
        try:
            if deaths:
                tmp = ledger.with_name(ledger.name + f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(deaths), encoding="utf-8")
                os.replace(tmp, ledger)
            else:
                ledger.unlink()
        except OSError:
            pass
        return deaths.get(add, 0) if add is not None else 0

    def _died_on(self, src: Path, rel: str) -> bool:
        """Count one more watcher death on this file (by name, size and modification time, which
        a rename keeps); at MAX_DEATHS move it to failed/ with the reason, and say so."""
        key = _death_key(src, rel)
        if key is None:
            return False
        if self._deaths(add=key) < MAX_DEATHS:
            return False
        deaths = {key: MAX_DEATHS}
        r = FileResult(rel, "failed", message=(
            f"{rel}: a watcher stopped while importing this file {deaths[key]} times (killed, or out of "
            f"memory?); it is not tried again. Import it by hand with `reach import` to see what happens"))
        moved = self._file_away(rel, src, r)
        if moved is not None:
            self.out(self._line(r, moved))
        return True

    def _abandoned(self, claim_dir: Path) -> bool:
        parts = claim_dir.name.split("~")
        if len(parts) == 4 and parts[2] == self._token:
            return False  # ours
        try:
            age = self.clock() - claim_dir.stat().st_mtime
        except OSError:
            return False
        if age > self.claim_timeout:
            return True
        if len(parts) == 4 and parts[0] == self.host and parts[1].isdigit():
            return not _alive(int(parts[1]))
        return False


def _death_key(path: Path, rel: str) -> str | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return f"{rel}|{st.st_size}|{st.st_mtime_ns}"


def ignored(name: str) -> bool:
    """Names the watcher never touches: hidden, temporary, lock and system files."""
    low = name.lower()
    return (name.startswith(".") or name.startswith("~$") or low.endswith(TEMPORARY_SUFFIXES)
            or low in SYSTEM_FILES)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _move_unique(src: Path, dest: Path, sidecars: tuple[str, ...] = (), *, inbox: Path | None = None) -> Path:
    """Move ``src`` to ``dest``, or to ``dest (1)``, ``dest (2)``... when the name is taken (with
    any of its ``sidecars``). Never overwrites, even when another watcher moves a file of the same
    name at the same moment: a hard link fails when the name exists, a rename would not. A
    symbolic link is moved as the link itself (never a hard link to its target), and only into
    real folders of the inbox (``files.real_dir``), never through a linked one."""
    files.real_dir(dest.parent, under=inbox if inbox is not None and inbox in dest.parents else None)
    stem, suffix = dest.stem, dest.suffix
    for n in range(100000):
        cand = dest if n == 0 else dest.with_name(f"{stem} ({n}){suffix}")
        if any(os.path.lexists(cand.with_name(cand.name + s)) for s in sidecars):
            continue
        try:
            os.link(src, cand, follow_symlinks=False)
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise
        except (OSError, NotImplementedError):
            # No hard links here (some network and FAT file systems; a link's own link where the
            # system cannot make one): check, then rename.
            if os.path.lexists(cand):
                continue
            os.rename(src, cand)
            return cand
        os.unlink(src)
        return cand
    raise OSError(f"no free name for {dest}")


def _remove_tree(d: Path) -> None:
    """Remove a claim folder and its (empty) subfolders; leave anything still in it."""
    for top, dirs, _ in os.walk(d, topdown=False):
        for name in dirs:
            try:
                os.rmdir(Path(top) / name)
            except OSError:
                pass
    try:
        os.rmdir(d)
    except OSError:
        pass


def _write_text(path: Path, text: str) -> None:
    """A new sidecar, never written through a link planted at its name (which would create or
    fill a file wherever it points); a taken name gets a number, like the files."""
    text = files.printable(text, keep="\n")  # someone will `cat` it: no terminal escapes
    stem, suffix = path.name[: -len(".txt")], ".txt"
    for n in range(1000):
        cand = path if n == 0 else path.with_name(f"{stem} ({n}){suffix}")
        try:
            files.create_new(cand, text)
            return
        except FileExistsError:
            continue
    raise OSError(f"no free name for {path}")


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    """Which file this is: device and inode, and its type (a freed inode is reused at once, so a
    link made right after the file was removed can have the file's inode number)."""
    return st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _refusal(rel: str, what: str) -> str:
    return (f"{rel}: refused without reading it: it is {what}, and the watcher imports only regular files "
            "inside the inbox. Put the export file itself here (a copy, not a link).")


def _error_text(rel: str, r: FileResult) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"{rel} was not imported ({when}):", "", r.message, ""]
    if r.problems:
        lines += ["Rejected rows:"] + [f"  {p}" for p in r.problems] + [""]
    lines.append("Nothing from this file is in the database. Fix the file (or export it again) and put it "
                 "back into the inbox.")
    return "\n".join(lines) + "\n"


def _rejected_text(rel: str, r: FileResult) -> str:
    lines = [f"{rel} was imported, but {len(r.problems)} of its {r.rows_read} rows were rejected and are not "
             "in the database:", ""]
    lines += [f"  {p}" for p in r.problems]
    lines += ["", "Correct these rows (or export the file again) and put the corrected file into the inbox: "
                  "rows already imported are not doubled."]
    return "\n".join(lines) + "\n"
