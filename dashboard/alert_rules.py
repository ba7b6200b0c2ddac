"""Editing the ``[[alerts]]`` rules of campaign.toml from the Alerts page.

The rules live in campaign.toml (the file a team keeps and reviews), so the page edits that file:
with tomlkit, which keeps its comments, order and layout, so a change from the page is a small
diff to the file a person wrote. Every change is checked as the whole file (``config.from_dict``)
before it is written, and written beside the file and renamed over it, so a reader never sees half
a file and a rejected change leaves the file as it was.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit

from collectors.errors import ReachError

from .analysis import config


def path_of(given: str | os.PathLike | None) -> Path:
    """The campaign.toml the dashboard reads (``--config``, REACH_CONFIG or the current folder)."""
    return Path(given or os.environ.get("REACH_CONFIG") or config.DEFAULT_PATH)


def _load(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except (OSError, tomlkit.exceptions.TOMLKitError) as e:
        raise ReachError(f"{path}: cannot be read as TOML ({e})") from None


def _save(path: Path, doc: tomlkit.TOMLDocument) -> config.Campaign:
    import re

    # A table the page added follows the one before it with a blank line, as people write them.
    text = re.sub(r"(?<=[^\n])\n(\[\[)", r"\n\n\1", tomlkit.dumps(doc))
    campaign = config.from_dict(tomlkit.parse(text).unwrap(), str(path))  # refused here, before any write
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".campaign-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return campaign


def _rules(doc) -> list:
    if "alerts" not in doc:
        doc["alerts"] = tomlkit.aot()
    return doc["alerts"]


def _find(rules, name: str) -> int:
    for i, r in enumerate(rules):
        if str(r.get("name", "")) == name:
            return i
    raise ReachError(f"there is no alert named {name!r} in campaign.toml (changed meanwhile?)")


def set_muted(path: Path, name: str, muted: bool) -> config.Campaign:
    doc = _load(path)
    rules = _rules(doc)
    rules[_find(rules, name)]["muted"] = muted
    return _save(path, doc)


def save_rule(path: Path, rule: dict, old_name: str | None = None) -> config.Campaign:
    """Add ``rule`` (a table as campaign.toml writes it), or replace the rule named ``old_name``."""
    doc = _load(path)
    rules = _rules(doc)
    clean = {k: v for k, v in rule.items() if v not in (None, "", [], ())}
    table = tomlkit.table()
    for k, v in clean.items():
        table[k] = v
    if old_name is not None:
        rules[_find(rules, old_name)] = table
    else:
        rules.append(table)
    return _save(path, doc)


def delete_rule(path: Path, name: str) -> config.Campaign:
    doc = _load(path)
    rules = _rules(doc)
    del rules[_find(rules, name)]
    return _save(path, doc)


def set_recipients(path: Path, channel: str, to: list[str], lang: str) -> config.Campaign:
    """An e-mail channel's recipients and language (the other kinds have no recipients to edit:
    their robot or hook decides who reads). Addresses are checked for the shape name@host."""
    import re

    addresses = [a.strip() for a in to if a and a.strip()]
    bad = [a for a in addresses if not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", a)]
    if bad:
        raise ReachError(f"{bad[0]!r} is not an e-mail address like li.na@example.org")
    if not addresses:
        raise ReachError("an e-mail channel needs at least one recipient")
    if lang not in ("en", "zh"):
        raise ReachError(f"language {lang!r}: choose en or zh")
    doc = _load(path)
    for ch in doc.get("channels", []):
        if str(ch.get("name", "")) == channel:
            if str(ch.get("kind", "")) != "email":
                raise ReachError(f"channel {channel!r} is not an e-mail channel: it has no recipients to set")
            ch["to"] = addresses
            ch["lang"] = lang
            return _save(path, doc)
    raise ReachError(f"there is no channel named {channel!r} in campaign.toml (changed meanwhile?)")
