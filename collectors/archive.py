"""Archive: every imported file kept, content-addressed, so the database can be rebuilt.

Parsers improve and mistakes happen; the original bytes must not be lost. Each file is stored
once under ``<archive>/<sha[:2]>/<sha256>`` and a line is appended to ``manifest.jsonl`` with
its original name and the options it was imported with, in import order. ``reach rebuild``
replays the manifest into a fresh database.

The database's ``imports`` table is the authority on what was imported: the file's bytes are put
here before the import's transaction commits, and its manifest line is appended after. A process
killed between the commit and the line leaves an import the manifest lacks; ``reconcile`` (run by
every command that opens the archive, by each Importer before its first import, by ``reach
rebuild`` before it reads the manifest, and by ``reach doctor --repair``) writes the missing lines
back from the database, in commit order.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import files

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one writer at a time is the user's affair there
    fcntl = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    sha256: str
    name: str
    imported_at: str  # ISO 8601 UTC
    options: dict


class Archive:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifest = self.root / "manifest.jsonl"

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes, digest: str | None = None) -> Path:
        digest = digest or sha256(data)
        target = self.path(digest)
        try:
            if target.stat().st_size == len(data):
                return target
            # Another size under this digest: a damaged copy (reach doctor reports it); replaced below.
        except FileNotFoundError:
            pass
        files.private_dir(target.parent, top=self.root)  # 0700: the campaign's files, owner only
        # Write then rename, so a crash never leaves a truncated file under a valid name.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())  # on disk before the import that needs it commits
            os.replace(tmp, target)
        except BaseException:  # Ctrl-C or a full disk: no .part- file left behind
            _unlink(tmp)
            raise
        return target

    @contextmanager
    def _locked(self):
        """The manifest's lock: appends and reconcile's rewrite take turns across processes (a
        rewrite replaces the file, so an append must open it only after taking the lock)."""
        files.private_dir(self.root)  # 0700: the manifest names every imported file
        if fcntl is None:
            yield
            return
        with open(self.root / ".manifest.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def record(self, entry: Entry) -> None:
        with self._locked(), open(self.manifest, "a", encoding="utf-8") as f:
            f.write(_line(entry))
            f.flush()
            os.fsync(f.fileno())

    def _all(self) -> list[Entry]:
        if not self.manifest.exists():
            return []
        out = []
        for line in self.manifest.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                out.append(Entry(**json.loads(line)))
            except (ValueError, TypeError):
                # A line cut short by a crash of the machine mid-append (a process kill cannot
                # cut a single write): nothing to replay; reconcile writes it back from the database.
                continue
        return out

    def entries(self) -> list[Entry]:
        """Manifest entries in import order, each export once (its first import); a roster each
        time it was imported, since a later roster import changes the mapping again."""
        seen, out = set(), []
        for e in self._all():
            if e.options.get("kind") == "roster" or e.sha256 not in seen:
                seen.add(e.sha256)
                out.append(e)
        return out

    def reconcile(self, imported: list[Entry]) -> int:
        """Make the manifest hold every import the database holds (``imported``, in commit
        order), in that order; returns how many lines were added. Lines the database does not
        know (rosters, or the imports of a database that was lost) keep their places; a missing
        import goes just before the first line the database committed after it. Two processes
        that committed A then B but appended B then A are put back in commit order too, since
        `reach rebuild` replays in manifest order and a later import overwrites an earlier one."""
        if not imported and not self.manifest.exists():
            return 0  # nothing to write, and no folder to create for it
        with self._locked():
            lines = self._all()
            present = {e.sha256 for e in lines if e.options.get("kind") != "roster"}
            # An import made without the archive (a test, a library caller) has no bytes to
            # replay: a line for it would only fail in `reach rebuild` (reach doctor reports it).
            imported = [e for e in imported if e.sha256 in present or self.path(e.sha256).exists()]
            rank = {e.sha256: i for i, e in enumerate(imported)}
            ranks = [rank[e.sha256] for e in lines if e.options.get("kind") != "roster" and e.sha256 in rank]
            missing = [e for e in imported if e.sha256 not in present]
            if not missing and ranks == sorted(ranks) and len(ranks) == len(set(ranks)):
                return 0
            queue = list(imported)  # every import, in commit order; the manifest's own line when it has one
            own = {}
            for e in lines:
                if e.options.get("kind") != "roster":
                    own.setdefault(e.sha256, e)
            queue = [own.get(e.sha256, e) for e in queue]
            out, done, k = [], set(), 0
            for e in lines:
                if e.options.get("kind") == "roster" or e.sha256 not in rank:
                    if e.options.get("kind") == "roster" or e.sha256 not in done:
                        out.append(e)
                        done.add(e.sha256)
                    continue
                while k < len(queue) and rank[queue[k].sha256] <= rank[e.sha256]:
                    if queue[k].sha256 not in done:
                        out.append(queue[k])
                        done.add(queue[k].sha256)
                    k += 1
            out += [e for e in queue[k:] if e.sha256 not in done]
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".manifest-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.writelines(_line(e) for e in out)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.manifest)  # the old manifest or the new one, never half of one
            except BaseException:
                _unlink(tmp)
                raise
            return len(missing)

    def read(self, digest: str) -> bytes:
        data = self.path(digest).read_bytes()
        if sha256(data) != digest:
            raise OSError(f"archived file {self.path(digest)} is damaged (its sha256 no longer matches)")
        return data


def _line(entry: Entry) -> str:
    return json.dumps(entry.__dict__, ensure_ascii=False, sort_keys=True) + "\n"


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
