"""Login and roles for the dashboard: the users file, the session secret and the request guard.

Users live in a TOML file (``data/users.toml``, ``--users FILE`` or ``REACH_USERS``) or, for
containers, in the ``REACH_USERS_JSON`` environment variable, each as name -> {role,
password_hash} with werkzeug hashes; nothing here ever holds or logs a clear-text password beyond
the request that carries it. ``install`` puts a ``before_request`` guard in front of every route of
the Flask server under Dash (pages, ``/_dash-*``, downloads, uploads, assets) except ``/login``, and
adds the login and logout views. State that must agree across gunicorn workers is never kept in
process memory: the session is a cookie signed with a secret from ``REACH_SECRET_KEY`` or a 0600 key
file beside the users file, users are re-read when their file changes, and login attempts (per
address and per name) and each user's session generation (bumped at logout) live in files beside
it, or in Redis when REACH_REDIS is set (several hosts, docs/deploy.md: then REACH_SECRET_KEY is
required, since a key file per host would make each host refuse the others' cookies). A session
ends at a fixed time after the login, however busy it is. ``security_headers`` adds the
Content-Security-Policy and framing, referrer and sniffing guards to every response.
Callbacks call ``current_role()`` / ``require_editor()``. See docs/security.md for the threat
model and the choices made.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
import tomllib
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from collectors import files
from collectors.errors import ReachError

from .. import deployment
from ..text import templating

log = logging.getLogger(__name__)

ROLES = ("viewer", "editor")
DEFAULT_USERS = Path("data/users.toml")
KEY_FILE = "session-secret.key"
FAILURES_FILE = "login-failures.json"
GENERATIONS_FILE = "session-generations.json"
# The only binds that count as "this machine, this user": every other address, 127.0.0.2 included,
# needs users. One plain rule is easier to trust than the subtleties of which loopback or
# container address other people can reach.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
NAME_RE = re.compile(r"[\w.@-]{1,64}")
MIN_PASSWORD = 8
SESSION_HOURS = 12
FAIL_WINDOW_S = 15 * 60
FAIL_DELAY_S = 0.5
# Defaults of REACH_LOGIN_LIMIT (per address), REACH_LOGIN_NAME_LIMIT (per name) and
# REACH_LOGIN_CONCURRENCY (password checks at once in one process; scrypt takes ~32 MB each).
ADDRESS_LIMIT = 10
# Higher than the address limit: anyone can spend a name's attempts, so a low one would let a
# stranger lock a colleague out; 30 per window still caps a botnet at ~3,000 guesses a day.
NAME_LIMIT = 30
CHECKS_AT_ONCE = 2
CHECK_QUEUE_S = 20
# More names and addresses than this in one window is an attack from many addresses: new ones
# are refused until the window passes, rather than letting the file (read on every attempt) grow.
MAX_TRACKED = 20_000
# Longer is no password anyone types; refusing it unhashed keeps a huge form field cheap.
MAX_PASSWORD = 1024
# A session issued "in the future" by more than this is forged or from a wrong clock.
CLOCK_SKEW_S = 300
# Paths whose callers are scripts or Dash's own fetches: a redirect to an HTML form is no use to
# them, a 401 they can act on is.
API_PREFIXES = ("/_dash-", "/_reload-hash", "/api", "/upload", "/download")
EDITOR_PREFIXES = ("/upload",)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


# --- the users file ---------------------------------------------------------------------------

def users_path(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("REACH_USERS") or DEFAULT_USERS).expanduser()


def _validate(entries, source: str) -> dict[str, User]:
    if not isinstance(entries, dict):
        raise ReachError(f"{source}: expected name -> {{role, password_hash}} entries")
    users = {}
    for name, entry in entries.items():
        if not NAME_RE.fullmatch(name):
            raise ReachError(f"{source}: user name {name!r} may only have letters, digits and . _ @ - (at most 64)")
        if not isinstance(entry, dict):
            raise ReachError(f"{source}: user {name!r} is not a table with role and password_hash")
        if "password" in entry:
            raise ReachError(f"{source}: user {name!r} has a clear-text password; "
                             "remove it and set one with `reach users add NAME`")
        role, h = entry.get("role"), entry.get("password_hash")
        if role not in ROLES:
            raise ReachError(f"{source}: user {name!r} has role {role!r}; choose viewer or editor")
        if not (isinstance(h, str) and h.startswith(("scrypt:", "pbkdf2:")) and "$" in h):
            raise ReachError(f"{source}: user {name!r} has no password_hash made by `reach users add`")
        users[name] = User(name, role, h)
    return users


@lru_cache(maxsize=8)
def _parse_file(path: str, _stamp: tuple) -> dict[str, User]:
    # Keyed on the file's identity and mtime, so every worker sees an edit on its next request
    # without a restart; the cache only spares re-parsing an unchanged file.
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ReachError(f"{path} is not a valid TOML users file: {e}") from None
    return _validate(data, path)


def load_users(path: Path | None = None) -> dict[str, User]:
    """The configured users: REACH_USERS_JSON when set (it replaces the file), else the file."""
    env = os.environ.get("REACH_USERS_JSON")
    if env:
        try:
            data = json.loads(env)
        except json.JSONDecodeError as e:
            raise ReachError(f"REACH_USERS_JSON is not valid JSON: {e}") from None
        return _validate(data, "REACH_USERS_JSON")
    path = users_path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ReachError(f"cannot read the users file {path}: {e.strerror}") from None
    return _parse_file(str(path), (st.st_ino, st.st_size, st.st_mtime_ns))


def _toml_str(s: str) -> str:
    # json.dumps escapes like a TOML basic string for everything NAME_RE and werkzeug hashes allow.
    return json.dumps(s, ensure_ascii=False)


def _write_users(path: Path, users: dict[str, User]) -> None:
    lines = ["# Campaign Reach dashboard users, written by `reach users add`; see docs/security.md.",
             "# Hashes only: a clear-text password never belongs here.", ""]
    for u in sorted(users.values(), key=lambda u: u.name):
        lines += [f"[{_toml_str(u.name)}]", f"role = {_toml_str(u.role)}",
                  f"password_hash = {_toml_str(u.password_hash)}", ""]
    files.private_dir(path.parent, tighten=False)  # a folder made for the users file: owner only (0700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def _file_users(path: Path) -> dict[str, User]:
    if os.environ.get("REACH_USERS_JSON"):
        raise ReachError("REACH_USERS_JSON is set, so the users file is not used; edit that variable instead")
    return load_users(path)


def add_user(path: Path, name: str, role: str, password: str) -> bool:
    """Add or replace a user; True when the user is new."""
    from werkzeug.security import generate_password_hash

    if not NAME_RE.fullmatch(name):
        raise ReachError(f"user name {name!r}: use letters, digits and . _ @ - (at most 64)")
    if role not in ROLES:
        raise ReachError(f"--role {role!r}: choose viewer or editor")
    if len(password) < MIN_PASSWORD:
        raise ReachError(f"the password is too short: at least {MIN_PASSWORD} characters")
    users = dict(_file_users(path))
    new = name not in users
    users[name] = User(name, role, generate_password_hash(password))
    _write_users(path, users)
    return new


def remove_user(path: Path, name: str) -> None:
    users = dict(_file_users(path))
    if users.pop(name, None) is None:
        raise ReachError(f"no user {name!r} in {path}")
    _write_users(path, users)


# --- the session secret -----------------------------------------------------------------------

def secret_key(users: Path | None = None) -> str:
    """REACH_SECRET_KEY, else a random key kept in a 0600 file beside the users file, created on
    first use, so every worker (and a restart) signs and checks cookies with the same key. With
    REACH_REDIS (several hosts) only REACH_SECRET_KEY: each host would make a key file of its own,
    and a session made on one would be refused by the others."""
    env = os.environ.get("REACH_SECRET_KEY")
    if env:
        if len(env) < 32:
            raise ReachError("REACH_SECRET_KEY is too short: use at least 32 random characters")
        return env
    if deployment.current().distributed:
        raise ReachError(f"{deployment.REDIS_ENV} is set, so the web processes may run on several hosts: "
                         "set REACH_SECRET_KEY to the same random value (at least 32 characters) on every "
                         "host, e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'` (docs/deploy.md)")
    path = users_path(users).parent / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            # link() fails when another worker won the race; then its key is the key.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        return _read_key(path)
    except OSError as e:
        raise ReachError(f"cannot create the session key file {path}: {e.strerror}; "
                         "set REACH_SECRET_KEY instead") from None


def _read_key(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 32:
        raise ReachError(f"the session key file {path} is damaged; delete it and a new one is made "
                         "(everyone is logged out)")
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users of this machine: chmod 600 it", path)
    return key


# --- who may serve what -----------------------------------------------------------------------

def host_needs_login(host: str) -> bool:
    return host not in LOCAL_HOSTS


def check_serve(host: str, users: Path | None = None) -> dict[str, User]:
    """Refuse a bind that others can reach when nobody could log in; the configured users otherwise."""
    configured = load_users(users)
    check_login_settings()
    if host_needs_login(host) and not configured:
        raise ReachError(
            f"refusing to serve on {host} without a login: add a user first with "
            f"`reach users add NAME --role editor` (users file {users_path(users)}), "
            "or serve on 127.0.0.1 for yourself alone")
    return configured


@dataclass(frozen=True)
class Settings:
    users: Path
    # No users and a bind only this machine's user can reach: one person on their own machine,
    # who gets everything without a login. Never true when users exist.
    anonymous: bool
    # Where login attempts and session generations live when several hosts serve (REACH_REDIS, set
    # by ``install``), under the campaign's key prefix; None: in files beside the users file.
    redis: str | None = None
    prefix: str = ""

    @classmethod
    def for_host(cls, host: str, users: Path | None = None) -> "Settings":
        return cls(users=users_path(users), anonymous=not host_needs_login(host))

    @classmethod
    def from_env(cls) -> "Settings":
        """For a WSGI server started by `reach serve --workers`: it passes the bind host in
        REACH_SERVE_HOST. Without it (gunicorn started by hand) nobody is let in without a login."""
        host = os.environ.get("REACH_SERVE_HOST")
        return cls(users=users_path(), anonymous=bool(host) and not host_needs_login(host))


def _fingerprint(password_hash: str) -> str:
    # Stored in the session so a changed password (or a removed user) ends existing sessions
    # without the cookie carrying anything useful about the hash.
    return hashlib.sha256(b"reach-session:" + password_hash.encode()).hexdigest()[:24]


def current_user() -> str | None:
    """The logged-in user's name; None for the anonymous local user or outside a request."""
    from flask import g, has_request_context

    return g.get("reach_user") if has_request_context() else None


def current_role() -> str | None:
    """viewer or editor for the request being served (the anonymous local user is an editor)."""
    from flask import g, has_request_context

    return g.get("reach_role") if has_request_context() else None


def is_editor() -> bool:
    return current_role() == "editor"


def require_editor() -> None:
    """Call first thing in a callback or view that changes data: a viewer's request ends in 403."""
    from flask import abort

    if not is_editor():
        abort(403, description="editors only")


# --- failed logins ----------------------------------------------------------------------------

class LoginStateError(ReachError):
    """The files that hold login attempts or session generations cannot be used: logins and
    sessions are refused (503) rather than let through unlimited."""


def _env_int(var: str, default: int) -> int:
    raw = os.environ.get(var)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ReachError(f"{var}={raw!r}: give a whole number (default {default})") from None
    if value < 1:
        raise ReachError(f"{var}={raw!r}: give at least 1 (default {default})")
    return value


def _login_limit() -> int:
    return _env_int("REACH_LOGIN_LIMIT", ADDRESS_LIMIT)


def _name_limit() -> int:
    return _env_int("REACH_LOGIN_NAME_LIMIT", NAME_LIMIT)


def _session_seconds() -> float:
    raw = os.environ.get("REACH_SESSION_HOURS")
    if raw is None or raw.strip() == "":
        return SESSION_HOURS * 3600.0
    try:
        hours = float(raw)
    except ValueError:
        hours = float("nan")
    if not (0 < hours <= 24 * 30):
        raise ReachError(f"REACH_SESSION_HOURS={raw!r}: give a number of hours above 0 and at most 720 "
                         f"(default {SESSION_HOURS})")
    return hours * 3600.0


def check_login_settings() -> None:
    """A mistyped REACH_LOGIN_* or REACH_SESSION_HOURS stops `reach serve` with its one-line error
    before any worker starts, rather than failing each worker or each login."""
    _login_limit(), _name_limit(), _env_int("REACH_LOGIN_CONCURRENCY", CHECKS_AT_ONCE), _session_seconds()


def _address_key(ip: str) -> str:
    """One key per client: an IPv6 client owns a whole /64, so it is counted as one."""
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return "ip:" + ip[:64]
    if a.version == 6:
        if a.ipv4_mapped:
            return f"ip:{a.ipv4_mapped}"
        return "ip:" + str(ipaddress.ip_network(f"{a}/64", strict=False))
    return f"ip:{a}"


def _name_key(name: str) -> str:
    # Case-folded, so "Alice" and "alice" share one budget whatever the users file spells.
    return "name:" + name.casefold()


def _recent(text: str, change):
    """``change(data, now)`` on the attempts kept as ``text``: returns (result, the text to keep or
    None when nothing changed). Attempts older than FAIL_WINDOW_S are dropped on the way."""
    try:
        data = json.loads(text or "{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = {}  # a torn write after a crash: the counts restart, the limit stays on
    if not isinstance(data, dict):
        data = {}
    now = time.time()
    old = len(data)
    data = {k: kept for k, v in data.items() if isinstance(v, list)
            and (kept := [t for t in v if isinstance(t, (int, float)) and 0 <= now - t < FAIL_WINDOW_S])}
    result, changed = change(data, now)
    return result, (json.dumps(data, separators=(",", ":")) if changed or len(data) != old else None)


@lru_cache(maxsize=4)
def _redis(url: str):
    """One client (a connection pool) per process and URL; short timeouts, so a Redis that does not
    answer closes the door in seconds rather than holding every request."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, decode_responses=True)


def _redis_errors():
    import redis

    return redis.RedisError


def _attempts(settings: Settings, change):
    """Run ``change(data, now)`` on the attempts file (or Redis key) under an exclusive lock: the
    read, the decision and the write are one step for every worker, thread and host. ``data`` maps
    a key to the times of its attempts in the last FAIL_WINDOW_S; ``change`` returns (result, changed)."""
    if settings.redis:
        r, key = _redis(settings.redis), settings.prefix + "login-failures"
        try:
            with r.lock(key + ":lock", timeout=10, blocking_timeout=10):
                result, text = _recent(r.get(key) or "", change)
                if text is not None:
                    r.set(key, text, ex=FAIL_WINDOW_S)
                return result
        except _redis_errors() as e:
            raise LoginStateError(f"cannot record login attempts in Redis ({e}); logins are refused until "
                                  "it answers") from None
    path = settings.users.parent / FAILURES_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise LoginStateError(f"cannot record login attempts in {path}: {e.strerror}; logins are refused "
                              "until the folder is writable by the server") from None
    with os.fdopen(fd, "r+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        result, text = _recent(f.read(), change)
        if text is not None:
            f.seek(0)
            f.truncate()
            f.write(text)
        return result


def _reserve(settings: Settings, limits: dict[str, int]) -> tuple[str | None, float]:
    """Count one attempt against every key in ``limits`` (key -> limit) unless one of them is at
    its limit, in one locked step. The attempt counts as a failure from the start; a login that
    succeeds gives its own attempt back (``_release``). Returns (the key at its limit or None,
    the attempt's time)."""
    def change(data, now):
        for key, limit in limits.items():
            if len(data.get(key, ())) >= limit:
                return (key, now), False
        if sum(key not in data for key in limits) + len(data) > MAX_TRACKED:
            return ("tracked", now), False
        for key in limits:
            data.setdefault(key, []).append(now)
        return (None, now), True

    return _attempts(settings, change)


def _release(settings: Settings, keys, stamp: float) -> None:
    """Give back one reserved attempt (the login succeeded, or no password was checked). Only that
    attempt: earlier failures of the address stay counted, so an attacker's own good logins do
    not wipe the count of their guesses at someone else's."""
    def change(data, _now):
        for key in keys:
            times = data.get(key, [])
            if stamp in times:
                times.remove(stamp)
            if not times:
                data.pop(key, None)
        return None, True

    _attempts(settings, change)


# --- session generations: logout ---------------------------------------------------------------

@lru_cache(maxsize=8)
def _parse_generations(path: str, _stamp: tuple) -> dict[str, str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LoginStateError(f"{path} is damaged ({e}); delete it to log everyone out") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise LoginStateError(f"{path} is damaged (expected name -> generation); delete it to log everyone out")
    return data


def _generations(settings: Settings) -> dict[str, str]:
    """Each user's current session generation: a random token, replaced at logout. A session
    holds the token of its login and is valid only while it is still the user's; a user with no
    token (the file deleted or damaged and rewritten) has no valid session, so losing the file
    logs people out and never revives a logged-out session. Read on every request, so cached on
    the file's identity: a stat per request, a parse per change. With several hosts (Redis) one
    hash holds them: a read per request, and a Redis that lost its data logs everyone out."""
    if settings.redis:
        try:
            return _redis(settings.redis).hgetall(settings.prefix + "session-generations")
        except _redis_errors() as e:
            raise LoginStateError(f"cannot read the session generations in Redis ({e})") from None
    path = settings.users.parent / GENERATIONS_FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise LoginStateError(f"cannot read {path}: {e.strerror}") from None
    try:
        return _parse_generations(str(path), (st.st_ino, st.st_size, st.st_mtime_ns))
    except OSError as e:
        raise LoginStateError(f"cannot read {path}: {e.strerror}") from None


def _generation(settings: Settings, name: str, *, new: bool) -> str:
    """`name`'s generation, made when there is none; ``new`` replaces it (logout): every session of
    that user, in every browser and every worker, ends on its next request. The file is replaced
    whole (readers see the old or the new one) under a lock file, so two logins or logouts at once
    both count."""
    if settings.redis:
        r, key, token = _redis(settings.redis), settings.prefix + "session-generations", secrets.token_urlsafe(12)
        try:
            if new:
                r.hset(key, name, token)
                return token
            r.hsetnx(key, name, token)  # two first logins at once on two hosts: the first token wins
            return r.hget(key, name)
        except _redis_errors() as e:
            raise LoginStateError(f"cannot record the session generation in Redis ({e})") from None
    folder = settings.users.parent
    path = folder / GENERATIONS_FILE
    if not new:
        current = _generations(settings).get(name)
        if current:
            return current
    folder.mkdir(parents=True, exist_ok=True)
    lock = os.open(folder / f".{GENERATIONS_FILE}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            gens = dict(_generations(settings))
        except LoginStateError:
            gens = {}  # damaged: rewritten whole, which ends everyone's sessions (the safe side)
        if new or not gens.get(name):
            gens[name] = secrets.token_urlsafe(12)
            tmp = folder / f".{GENERATIONS_FILE}.{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(gens, f)
            os.replace(tmp, path)
        return gens[name]
    finally:
        os.close(lock)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(secrets.token_hex(16))


def _verify(users: dict[str, User], name: str, password: str) -> User | None:
    from werkzeug import security

    u = users.get(name)
    if len(password) > MAX_PASSWORD:
        return None
    check_password_hash = security.check_password_hash
    # An unknown name costs the same hash check as a known one, so timing does not tell them apart.
    ok = check_password_hash(u.password_hash if u else _dummy_hash(), password)
    return u if ok and u else None


# --- the guard and the login views ------------------------------------------------------------

def _under(path: str, prefixes) -> bool:
    return any(path == p or path.startswith(p if p.endswith("-") else p + "/") for p in prefixes)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (//evil, https://evil, /\\evil)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _login_page(*, csrf: str, next_: str, name: str = "", message: str = "", note: str = "") -> str:
    # The template escapes every value, the form's action (the page to go back to) too.
    return templating.render("login.html", action=f"/login?next={quote(next_, safe='/')}", csrf=csrf, name=name,
                             message=message, note=note)


def _same_token(sent, expected) -> bool:
    """A CSRF token check: both sides non-empty strings and equal. compare_digest("", "") is true,
    so a bare request with no cookie and no token would otherwise pass; bytes, because
    compare_digest refuses non-ASCII str with a TypeError (a 500) instead of saying "not equal"."""
    return (isinstance(expected, str) and isinstance(sent, str) and bool(expected) and bool(sent)
            and hmac.compare_digest(sent.encode(), expected.encode()))


def _logout_page(*, csrf: str) -> str:
    """Asked when /logout comes without this session's token (a link from another site, an old
    bookmark): one button that logs out, so a forged request cannot end anyone's sessions."""
    return templating.render("logout.html", csrf=csrf)


def logout_href() -> str:
    """The header's logout link: it carries the session's CSRF token, so only a link this site
    rendered for this session logs out at once (a forged one gets a confirmation page)."""
    from flask import has_request_context, session

    token = session.get("csrf") if has_request_context() else None
    return "/logout?" + urlencode({"t": token}) if isinstance(token, str) and token else "/logout"


def install(server, settings: Settings) -> None:
    """Put the login in front of every route of `server` (the Flask app under Dash)."""
    from flask import g, jsonify, make_response, redirect, request, session

    server.secret_key = secret_key(settings.users)
    redis_url = deployment.current().redis
    if redis_url and settings.redis is None:
        settings = replace(settings, redis=redis_url,
                           prefix=deployment.key_prefix(server.config.get("REACH_DB_URL")))
    lifetime = _session_seconds()
    check_login_settings()  # gunicorn started by hand: the worker stops here, not at a login
    checks = threading.BoundedSemaphore(_env_int("REACH_LOGIN_CONCURRENCY", CHECKS_AT_ONCE))
    server.config.update(
        SESSION_COOKIE_NAME="reach_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Only behind an HTTPS proxy: a Secure cookie is never sent back over plain http.
        SESSION_COOKIE_SECURE=os.environ.get("REACH_COOKIE_SECURE") == "1",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=lifetime),
        # The cookie keeps the expiry of its login. Re-signing on every request used to push the
        # signature's age (Flask's only check) forward for ever; the issue time in the session,
        # checked below, is what ends it now, and this keeps the browser's expiry honest too.
        SESSION_REFRESH_EACH_REQUEST=False,
    )

    def html_response(body: str, status: int = 200):
        resp = make_response(body, status)
        resp.headers["Content-Type"] = "text/html; charset=utf-8"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Frame-Options"] = "DENY"
        # Stricter than the pages' policy: the form needs no script at all.
        resp.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "form-action 'self'; frame-ancestors 'none'; "
                                                   "object-src 'none'; base-uri 'none'")
        return resp

    def csrf_token() -> str:
        if not (isinstance(session.get("csrf"), str) and len(session["csrf"]) >= 16):
            session["csrf"] = secrets.token_urlsafe(24)
        return session["csrf"]

    def state_broken(e: LoginStateError):
        log.error("%s", e)
        return jsonify(error="the server cannot check sessions; see the server log"), 503

    def session_user(users: dict[str, User]) -> User | None:
        """The session's user while it is valid: the user still exists with the same password,
        it was issued less than `lifetime` ago (whatever happened since), and that user has not
        logged out since (the generation)."""
        u = users.get(session.get("user") or "")
        if u is None:
            return None
        pw, iat, gen = session.get("pw"), session.get("iat"), session.get("gen")
        if not (isinstance(pw, str) and hmac.compare_digest(pw.encode(), _fingerprint(u.password_hash).encode())):
            return None
        now = time.time()
        if not (isinstance(iat, (int, float)) and not isinstance(iat, bool)
                and now - lifetime < iat <= now + CLOCK_SKEW_S):
            return None
        current = _generations(settings).get(u.name)
        if not (isinstance(gen, str) and current and hmac.compare_digest(gen.encode(), current.encode())):
            return None
        return u

    def guard():
        path = re.sub("/{2,}", "/", request.path)
        if path == "/login":
            return None
        try:
            users = load_users(settings.users)
        except ReachError as e:
            # Fail closed: a broken users file must not fall back to "no users, no login".
            log.error("%s", e)
            return jsonify(error="the users file is broken; see the server log"), 503
        if not users and settings.anonymous:
            g.reach_user, g.reach_role = None, "editor"
            return None
        try:
            u = session_user(users)
        except LoginStateError as e:
            return state_broken(e)
        if u is None:
            if session.get("user"):
                session.clear()  # ended: the browser drops the cookie with the next answer
            if path == "/logout":
                return redirect("/login")
            if request.method in ("GET", "HEAD") and not _under(path, API_PREFIXES):
                return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/"))
            return jsonify(error="login required", login="/login"), 401
        g.reach_user, g.reach_role = u.name, u.role
        if _under(path, EDITOR_PREFIXES) and u.role != "editor":
            return jsonify(error="editors only"), 403
        return None

    # First in line, ahead of anything Dash registers, so no Dash hook runs for a stranger.
    server.before_request_funcs.setdefault(None, []).insert(0, guard)

    def login():
        next_ = _safe_next(request.args.get("next"))
        users_note = ""
        try:
            users = load_users(settings.users)
        except ReachError as e:
            log.error("%s", e)
            users = {}
        if not users:
            users_note = "No users are configured: add one with `reach users add NAME --role editor`."
        if request.method == "GET":
            return html_response(_login_page(csrf=csrf_token(), next_=next_, note=users_note))
        name = request.form.get("name", "")[:64]
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf")
        if not _same_token(sent, expected):
            return html_response(_login_page(csrf=csrf_token(), next_=next_, name=name,
                                              message="The form expired; please log in again."), 400)
        ip = request.remote_addr or "?"
        keys = {_address_key(ip): _login_limit(), _name_key(name): _name_limit()}
        try:
            shut, stamp = _reserve(settings, keys)
        except LoginStateError as e:
            log.error("%s", e)
            return html_response(_login_page(csrf=csrf_token(), next_=next_, name=name,
                                              message="Logins are paused: the server cannot record them. "
                                                      "Its log says why."), 503)
        if shut is not None:
            if shut.startswith("ip:"):
                log.warning("login refused: %s reached REACH_LOGIN_LIMIT=%d failures in %d minutes",
                            ip, _login_limit(), FAIL_WINDOW_S // 60)
                message = "Too many failed logins from your address; try again in a few minutes."
            elif shut.startswith("name:"):
                log.warning("login refused: the name %r reached REACH_LOGIN_NAME_LIMIT=%d failures in %d "
                            "minutes (from %s)", name, _name_limit(), FAIL_WINDOW_S // 60, ip)
                message = "Too many failed logins for this name; try again in a few minutes."
            else:
                log.warning("login refused: more than %d addresses and names tried in %d minutes",
                            MAX_TRACKED, FAIL_WINDOW_S // 60)
                message = "Too many failed logins; try again in a few minutes."
            return html_response(_login_page(csrf=csrf_token(), next_=next_, name=name, message=message), 429)
        # At most REACH_LOGIN_CONCURRENCY scrypt checks at once in this process, whatever the
        # number of threads: each takes ~32 MB, and addresses and names are cheap to vary.
        if not checks.acquire(timeout=CHECK_QUEUE_S):
            _release(settings, keys, stamp)
            log.warning("login refused: %d password checks already running (REACH_LOGIN_CONCURRENCY)",
                        _env_int("REACH_LOGIN_CONCURRENCY", CHECKS_AT_ONCE))
            return html_response(_login_page(csrf=csrf_token(), next_=next_, name=name,
                                              message="The server is busy; please try again."), 503)
        try:
            u = _verify(users, name, request.form.get("password", ""))
        finally:
            checks.release()
        if u is None:
            time.sleep(FAIL_DELAY_S)
            log.warning("failed login from %s", ip)
            # Same words for an unknown name and a wrong password: the page never says which.
            return html_response(_login_page(csrf=csrf_token(), next_=next_, name=name,
                                              message="Wrong name or password."), 401)
        try:
            _release(settings, keys, stamp)
            gen = _generation(settings, u.name, new=False)
        except (LoginStateError, OSError) as e:
            log.error("%s", e)
            return html_response(_login_page(csrf=csrf_token(), next_=next_, name=name,
                                              message="Logins are paused: the server cannot record them. "
                                                      "Its log says why."), 503)
        session.clear()
        session.permanent = True
        session.update(user=u.name, pw=_fingerprint(u.password_hash), iat=time.time(), gen=gen,
                       csrf=secrets.token_urlsafe(24))
        log.info("%s logged in from %s", u.name, ip)
        return redirect(next_)

    def logout():
        # The guard let this through, so the session is valid and g.reach_user is its user (None
        # for the anonymous local user, who has no session to end).
        name = g.get("reach_user")
        if name:
            # Logout ends every session of the user, so it needs this session's token like any
            # form: in the header link's query (GET) or the confirmation form (POST).
            given = request.form.get("csrf_token", "") if request.method == "POST" else request.args.get("t", "")
            if not _same_token(given, session.get("csrf")):
                if request.method == "POST":
                    return html_response(_logout_page(csrf=csrf_token()), 400)
                return html_response(_logout_page(csrf=csrf_token()), 200)
            try:
                _generation(settings, name, new=True)
            except OSError as e:
                log.error("logout of %s could not be recorded in %s: %s", name,
                          settings.users.parent / GENERATIONS_FILE, e.strerror)
                return jsonify(error="the logout could not be recorded; see the server log"), 503
            except LoginStateError as e:
                log.error("logout of %s could not be recorded: %s", name, e)
                return jsonify(error="the logout could not be recorded; see the server log"), 503
            log.info("%s logged out: every session of theirs has ended", name)
        session.clear()
        return redirect("/login")

    server.add_url_rule("/login", "reach_login", login, methods=["GET", "POST"])
    # GET with the session's token (the header's plain link, rendered per session) or POST from
    # the confirmation form; without the token, GET only asks.
    server.add_url_rule("/logout", "reach_logout", logout, methods=["GET", "POST"])


# --- response headers ---------------------------------------------------------------------------

def content_security_policy(script_hashes=()) -> str:
    """The policy of the dashboard's pages: everything from this server only. Dash's one inline
    script (the renderer's start) is allowed by its hash, no other inline or eval'd script runs,
    so markup that slipped into a page could not run code. Styles may be inline: React and
    plotly.js set style attributes and insert <style> elements, and styles run no code. The
    Weekly report is an iframe's srcdoc, which inherits this policy: its inline <style> fits it,
    and of its scripts only the one whose hash is given (it reports the report's height) runs."""
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src", "'self'", *script_hashes]),
        "style-src 'self' 'unsafe-inline'",
        # plotly's modebar "download plot as png" and Dash's uploads preview use data:/blob: URLs.
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(app, script_hashes=()) -> None:
    """Every response of the Flask server under the Dash ``app`` gets the browser's guards: the
    CSP (its script hashes read from Dash at each answer, so a clientside callback added later is
    allowed too, plus ``script_hashes``: the weekly report frame's one script), no framing by any
    site (the app frames nothing but its own srcdoc report), no referrer to other sites (exported
    post URLs are links) and no content sniffing. A response that set its own CSP (the login
    page's stricter one) keeps it."""
    server = getattr(app, "server", app)
    hashes = getattr(app, "csp_hashes", lambda: [])

    def add_headers(resp):
        h = resp.headers
        if "Content-Security-Policy" not in h:
            h["Content-Security-Policy"] = content_security_policy([*hashes(), *script_hashes])
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    server.after_request(add_headers)
