"""Which addresses from export files become links.

A post's URL comes from a platform's export, or from a file anyone could have edited, so only a web
address (http or https, with a host) is ever made clickable: a ``javascript:`` or ``data:`` URL in
a cell stays text. One rule for every place that links to a post (the Influencers panel, the Posts
grid, the weekly report).
"""
from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https")


def safe_link(url) -> str | None:
    """``url`` (without surrounding spaces) if it is an http(s) URL with a host, else None."""
    if not isinstance(url, str) or not url.strip():
        return None
    u = url.strip()
    try:
        parts = urlsplit(u)
    except ValueError:  # "http://[::1" and the like: not an address at all
        return None
    return u if parts.scheme.lower() in SCHEMES and parts.netloc else None
