"""Archive: every imported file kept, content-addressed, so the database can be rebuilt.

Parsers improve and mistakes happen; the original bytes must not be lost. Each file is stored
once under ``<archive>/<sha[:2]>/<sha256>`` and a line is appended to ``manifest.jsonl`` with
its original name and the options it was imported with, in import order. ``reach rebuild``
replays the manifest into a fresh database.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


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
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a truncated file under a valid name.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
        return target

    def record(self, entry: Entry) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.manifest, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry.__dict__, ensure_ascii=False, sort_keys=True) + "\n")

    def entries(self) -> list[Entry]:
        """Manifest entries in import order, each export once (its first import); a roster each
        time it was imported, since a later roster import changes the mapping again."""
        if not self.manifest.exists():
            return []
        seen, out = set(), []
        for line in self.manifest.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            e = Entry(**json.loads(line))
            if e.options.get("kind") == "roster" or e.sha256 not in seen:
                seen.add(e.sha256)
                out.append(e)
        return out

    def read(self, digest: str) -> bytes:
        data = self.path(digest).read_bytes()
        if sha256(data) != digest:
            raise OSError(f"archived file {self.path(digest)} is damaged (its sha256 no longer matches)")
        return data
