"""Credentials for the API collectors: environment variables, or a TOML file outside the repository.

Environment variables win over the file, key by key. The file is ``$REACH_CREDENTIALS``, else
``~/.config/campaign-reach/credentials.toml`` when it exists:

    [youtube]
    api_key = "AIza..."
    [meta]                      # Instagram and Facebook
    access_token = "EAA..."
    [x]
    bearer_token = "AAAA..."    # app-only: public metrics
    user_token = "..."          # optional, OAuth 2.0 user context: non-public metrics (30 days)
    [tiktok]
    access_token = "act...."    # one creator's token; or one per creator:
    [tiktok.tokens]
    some_handle = "act...."
    [bilibili]
    bvids = ["BV1xx411c7mD"]    # videos to poll besides the Bilibili posts already stored

A file inside a git work tree, the project or the data folder is refused: it would be committed,
archived or copied with the data. A file other users can read is used, with a warning. Values are
never printed: ``Credentials`` shows where each came from, not what it is.
"""
from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ReachError
from ..messages import Message

DEFAULT_FILE = Path("~/.config/campaign-reach/credentials.toml")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# (section, key) -> environment variable
ENV = {
    ("youtube", "api_key"): "REACH_YOUTUBE_API_KEY",
    ("meta", "access_token"): "REACH_META_ACCESS_TOKEN",
    ("x", "bearer_token"): "REACH_X_BEARER_TOKEN",
    ("x", "user_token"): "REACH_X_USER_TOKEN",
    ("tiktok", "access_token"): "REACH_TIKTOK_ACCESS_TOKEN",
}
SECRET_KEYS = {"api_key", "access_token", "bearer_token", "user_token", "tokens", "page_tokens", "refresh_token",
               "client_secret"}
# Any other key whose name says it holds a secret (app_secret, sessdata, bili_jct, password, cookie...):
# a key added to the file for a future collector is redacted before its code is written.
SECRET_NAME = re.compile(r"(?i)token|secret|key|pass|auth|cookie|sess|credential|jct|signature|bearer")


class CredentialsError(ReachError):
    pass


@dataclass
class Credentials:
    values: dict[str, dict] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)  # (section, key) -> "REACH_X" / "file key x.y"
    file: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def get(self, section: str, key: str, default=None):
        return self.values.get(section, {}).get(key, default)

    def where(self, section: str, key: str) -> str:
        """Where a credential is set, or where to set it, for messages."""
        if (section, key) in self.sources:
            return self.sources[(section, key)]
        env = ENV.get((section, key))
        place = Message("api.where", setting=f"{section}.{key}", file=str(self.file or DEFAULT_FILE))
        return Message("api.where_either", env=env, place=place) if env else place

    def secrets(self) -> list[str]:
        """Every value kept under a secret's name, however deep (a table of tokens per account,
        a list of keys), for the redactor."""
        out: list[str] = []

        def walk(value, secret: bool) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, secret or k in SECRET_KEYS or bool(SECRET_NAME.search(str(k))))
            elif isinstance(value, (list, tuple)):
                for v in value:
                    walk(v, secret)
            elif secret and value not in (None, "") and not isinstance(value, bool):
                out.append(str(value))

        for section in self.values.values():
            if isinstance(section, dict):
                walk(section, False)
        return out

    def __repr__(self) -> str:  # never the values
        have = sorted(f"{s}.{k}" for s, sec in self.values.items() for k in sec)
        return f"Credentials({', '.join(have) or 'none'}; file={self.file})"

    __str__ = __repr__


def credentials_path(explicit: str | None = None) -> Path | None:
    """The credentials file to read: --credentials, $REACH_CREDENTIALS, or the default if it exists."""
    given = explicit or os.environ.get("REACH_CREDENTIALS")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise CredentialsError(f"no credentials file at {path} (from {'--credentials' if explicit else 'REACH_CREDENTIALS'})")
        return path
    path = DEFAULT_FILE.expanduser()
    return path if path.is_file() else None


def load(explicit: str | None = None, *, forbidden: tuple[Path, ...] = (), env=None) -> Credentials:
    """Credentials from the environment and the credentials file (if any).

    ``forbidden``: folders a credentials file must not be in besides git work trees and the
    project (the data folder: the database and the archive)."""
    env = os.environ if env is None else env
    creds = Credentials()
    path = credentials_path(explicit)
    if path is not None:
        _check_place(path, forbidden)
        creds.file = path
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise CredentialsError(f"cannot read the credentials file {path}: {e}") from None
        except tomllib.TOMLDecodeError as e:
            # The message names the line and column; it never quotes the file's contents.
            raise CredentialsError(f"the credentials file {path} is not valid TOML: {e}") from None
        for section, body in data.items():
            if not isinstance(body, dict):
                raise CredentialsError(f"{path}: {section!r} should be a [section] (youtube, meta, x, tiktok, bilibili)")
            creds.values[section] = dict(body)
            for key in body:
                creds.sources[(section, key)] = Message("api.where", setting=f"{section}.{key}", file=str(path))
        mode = _mode(path)
        if mode is not None and mode & (stat.S_IRWXG | stat.S_IRWXO):
            creds.warnings.append(
                f"the credentials file {path} can be read by other users (mode {mode:04o}): "
                f"run `chmod 600 {path}`")
    for (section, key), var in ENV.items():
        value = env.get(var)
        if value:
            creds.values.setdefault(section, {})[key] = value.strip()
            creds.sources[(section, key)] = var
    return creds


def _mode(path: Path) -> int | None:
    if sys.platform == "win32":  # POSIX permissions mean nothing there
        return None
    return path.stat().st_mode & 0o777


def _check_place(path: Path, forbidden: tuple[Path, ...]) -> None:
    real = path.resolve()
    places = [(PROJECT_ROOT, "the project folder")] + [(Path(f).resolve(), "the data folder") for f in forbidden]
    for folder, what in places:
        if real == folder or folder in real.parents:
            raise CredentialsError(
                f"refusing the credentials file {path}: it is inside {what} ({folder}), where it could be "
                f"committed, archived or copied with the data. Move it to {DEFAULT_FILE} (chmod 600) or "
                "point REACH_CREDENTIALS at a file outside")
    for parent in real.parents:
        if (parent / ".git").exists():
            raise CredentialsError(
                f"refusing the credentials file {path}: it is inside the git repository {parent}, where it "
                f"could be committed. Move it to {DEFAULT_FILE} (chmod 600) or point REACH_CREDENTIALS "
                "at a file outside any repository")
