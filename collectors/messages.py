"""Words a user reads from the collectors and the pipeline: refusals of files that are not
exports or cannot be read, what a rejected row's cell should have been, rows left out on purpose,
how a table was read, an import's result line, a roster or a mapping that cannot be used, the
errors of the platforms' APIs (the Data page's last error), a folder import's skipped files, a
command-line filter that names nothing stored, a busy port.

One source of truth per message: a key in ``CATALOG`` with its English and Chinese templates
(collectors/catalogs/messages/en.toml and zh.toml). A ``Message`` is that key and its
parameters, and is at the same time its English text (a ``str``):
what the command line prints, what the database stores and what every caller compares, unchanged;
``render(message, lang)`` gives it in the reader's language (the Data page, in Chinese). Text that
comes back from the database (an import's rejected rows, a failed attempt) is plain English;
``render`` finds the template it was written from and writes it again in the reader's language
(``translate``), so it is not translated a second time by hand. A message not yet in the catalog
stays English everywhere. It sits in ``collectors`` because the reader needs it and
``collectors`` never imports ``dashboard``; tests/test_i18n.py checks that every key has Chinese
with the same parameters.
"""
from __future__ import annotations

import re
import tomllib
from collections import Counter
from functools import lru_cache
from pathlib import Path

# Per language, one catalog file (collectors/catalogs/messages/<lang>.toml), read once when this
# module is first imported. Data rather than code, like the UI's (dashboard/text/catalogs/), so a
# translator edits one file per language and a test can hold every key to every language.
LANGS = ("en", "zh")
CATALOGS = Path(__file__).resolve().parent / "catalogs" / "messages"


def _catalogs() -> dict[str, dict[str, str]]:
    return {lang: tomllib.loads((CATALOGS / f"{lang}.toml").read_text(encoding="utf-8")) for lang in LANGS}


CATALOG: dict[str, dict[str, str]] = _catalogs()


class Message(str):
    """A message: its English text (this ``str``), and the ``key`` and ``params`` that write it in
    another language (``render``). A parameter may itself be a ``Message`` (what a file is, what a
    cell should have been): it is written in the same language. ``Message.concat`` strings
    messages and plain text together (a message's first line, then lines not yet in the catalog)."""

    key: str | None
    params: dict

    def __new__(cls, key: str, **params):
        self = super().__new__(cls, _fill(CATALOG["en"][key], params, "en"))
        self.key, self.params = key, params
        return self

    @classmethod
    def join(cls, items, sep: str) -> Message:
        """``items`` with ``sep`` between them (a ``Message("sep.list")``, said in each language)."""
        return cls.concat(*[p for i, x in enumerate(items) for p in ((sep, x) if i else (x,))])

    @classmethod
    def concat(cls, *parts: str) -> Message:
        self = super().__new__(cls, "".join(_english(p) for p in parts))
        self.key, self.params = None, {"parts": parts}
        return self

    def __str__(self):
        # str(exception) and str(message) keep the message, so its key travels with the text.
        return self

    def map_text(self, fn) -> Message:
        """The same message with ``fn`` applied to each of its plain-text values, however deep
        (the API collectors' redaction of secrets keeps the key this way)."""
        def one(v):
            return v.map_text(fn) if isinstance(v, Message) else fn(v) if isinstance(v, str) else v
        if self.key is None:
            return Message.concat(*[one(p) for p in self.params["parts"]])
        return Message(self.key, **{k: one(v) for k, v in self.params.items()})

    def __reduce__(self):  # worker processes send results back pickled
        return (_concat, (self.params["parts"],)) if self.key is None else (_message, (self.key, self.params))

    def render(self, lang: str) -> str:
        if self.key is None:
            return "".join(render(p, lang) if isinstance(p, Message) else p for p in self.params["parts"])
        return _fill(CATALOG.get(lang, {}).get(self.key) or CATALOG["en"][self.key], self.params, lang)


def to_json(text):
    """``text`` as JSON-able data that ``from_json`` makes the same ``Message`` again, key and
    parameters included (a Celery worker's result is JSON: plain English would lose the words
    in the reader's language). Plain text stays text."""
    if isinstance(text, Message):
        if text.key is None:
            return {"message.parts": [to_json(p) for p in text.params["parts"]]}
        return {"message.key": text.key, "params": {k: to_json(v) for k, v in text.params.items()}}
    if text is None or isinstance(text, (str, int, float, bool)):
        return text
    return str(text)


def from_json(data):
    if isinstance(data, dict) and "message.key" in data:
        return Message(data["message.key"], **{k: from_json(v) for k, v in data["params"].items()})
    if isinstance(data, dict) and "message.parts" in data:
        return Message.concat(*[from_json(p) for p in data["message.parts"]])
    return data


def _message(key, params):
    return Message(key, **params)


def _concat(parts):
    return Message.concat(*parts)


def _english(text: str) -> str:
    return str.__str__(text) if isinstance(text, Message) else text


def _fill(template: str, params: dict, lang: str) -> str:
    # Only a parameter that is a message is translated: a file name or a cell's value is data.
    return template.format(**{k: render(v, lang) if isinstance(v, Message) else v for k, v in params.items()})


def render(text, lang: str) -> str:
    """``text`` in ``lang``: a ``Message`` written from its template; stored English text found in
    the catalog (``translate``); anything else as it is."""
    if isinstance(text, Message):
        return text.render(lang) if lang != "en" else _english(text)
    if not isinstance(text, str) or lang == "en":
        return text
    return translate(text, lang)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern, str]]:
    """Each English template as a pattern that finds its parameters in a text it wrote; the most
    specific (the most fixed words) first."""
    out = []
    for key, template in CATALOG["en"].items():
        fixed = re.sub(r"\{\w+\}", "", template)
        parts = re.split(r"\{(\w+)\}", template)
        if len(fixed.strip()) < 4 and "{" in template and not set(parts[1::2]) & set(SHAPES):
            continue  # "{name}: {message}" would claim any text with a colon
        seen, rx = set(), ""
        for i, p in enumerate(parts):
            if i % 2 == 0:
                rx += re.escape(p)
            else:  # a parameter the template writes twice is the same text twice
                rx += f"(?P={p})" if p in seen else f"(?P<{p}>{SHAPES.get(p, '.+?')})"
                seen.add(p)
        out.append((re.compile(rx + r"\Z", re.S), key, len(fixed)))
    out.sort(key=lambda x: -x[2])
    return [(rx, key) for rx, key, _ in out]


def translate(text: str, lang: str) -> str:
    """English ``text`` that a catalog template wrote (stored in the database, say), in ``lang``:
    its parameters are taken from the text and themselves translated where they are messages.
    Text that several messages wrote one after another (``Message.concat``: a refusal's first
    sentence, the closest reports, the proposal on the next lines) is translated line by line and
    sentence by sentence, from the left. Text no template wrote is returned as it is."""
    if "\n" in text:
        lines = text.split("\n")
        return "\n".join(line[:len(line) - len(line.lstrip())] + translate(line.lstrip(), lang) for line in lines)
    # Sentences that templates wrote, every one of them, rather than one template whose last
    # parameter would swallow the sentences after it; else one template; else the first
    # sentences a template wrote, the rest as it is.
    done = _sentences(text, lang)
    if done is None:
        done = _translate_whole(text, lang)
    if done is not None:
        return done
    for m in re.finditer(r"\. ", text):
        first = _translate_whole(text[:m.start() + 1], lang)
        if first is not None:
            return first + " " + translate(text[m.end():], lang)
    return text


def _sentences(text: str, lang: str) -> str | None:
    """``text`` as two or more sentences ("... . ...") that catalog templates wrote, translated;
    None when it is not."""
    for m in re.finditer(r"\. ", text):
        first = _translate_whole(text[:m.start() + 1], lang)
        if first is None:
            continue
        rest = text[m.end():]
        rest = _sentences(rest, lang) or _translate_whole(rest, lang)
        if rest is not None:
            return first + " " + rest
    return None


def _translate_whole(text: str, lang: str) -> str | None:
    for rx, key in _patterns():
        m = rx.match(text)
        if m:
            target = CATALOG.get(lang, {}).get(key)
            if target is None:
                return text
            return target.format(**{k: (k in LISTS and _items(v, lang)) or translate(v, lang)
                                    for k, v in m.groupdict().items()})
    return None


# Parameters that are lists of messages joined by "sep.list" ("; "): read back item by item, as
# "; " also occurs inside one item ("5 of 8 columns fit; its columns fit more than one way").
LISTS = {"candidates", "need", "first", "problems"}

# Parameters whose text has a known shape. A template made of little more than such a parameter
# ("{api}: {message}", a failure of ``reach collect`` as stored) is still recognised, by the shape,
# and a parameter after free text ("{advice} ({request} answered HTTP 401)") ends where it should.
SHAPES = {
    "api": "youtube|facebook|instagram|x|tiktok|bilibili",  # collectors/api/*.py platforms
    "request": r"(?:GET|POST|PUT|PATCH|DELETE|HEAD) /\S*",  # what http.py shows of a call
    "setting": r"[a-z]+\.[\w.]+",  # a key of the credentials file: youtube.api_key
    "env": r"[A-Z][A-Z0-9_]*",  # an environment variable
}


def _items(text: str, lang: str) -> str | None:
    """``text`` as one or more items joined by "; " that catalog templates wrote, translated."""
    whole = _translate_whole(text, lang)
    for m in re.finditer(r"; ", text):
        first = _translate_whole(text[:m.start()], lang)
        rest = _items(text[m.end():], lang) if first is not None else None
        if rest is not None:
            return first + CATALOG.get(lang, {}).get("sep.list", "; ") + rest
    return whole


def kind_name(kind: str) -> Message:
    """What a file of ``kind`` (collectors/kinds.py) is, in words: "a PDF"."""
    return Message(f"kind.{kind}")


KINDS = {k[len("kind."):]: CATALOG["en"][k] for k in CATALOG["en"] if k.startswith("kind.")}
EXPORT_ADVICE = Message("advice.export")
_ADVICE = {"ods": "advice.save_as", "gzip": "advice.unpack", "7z": "advice.unpack", "rar": "advice.unpack"}


def not_an_export(source: str, kind: str) -> Message:
    """report.pdf: this is a PDF, not an export; export CSV or XLSX from ..."""
    return Message("not_an_export", source=source, kind=kind_name(kind),
                   advice=Message(_ADVICE.get(kind, "advice.export")))


def binary_file(source: str) -> Message:
    """A file with NUL bytes that no signature names."""
    return Message("binary_file", source=source, advice=EXPORT_ADVICE)


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
