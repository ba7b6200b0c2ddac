"""Names as people type them: the stored names closest to one that matches none, for "did you
mean" on the command line.

A filter still matches a name exactly (a filter that guessed could export the wrong person's
numbers without a word); this only proposes. Compared without case or accents ("jose" finds
"José"), and by substring before similarity: influencer names mix scripts ("Pan Yifei 潘一飞"),
and a user who types "潘一飞" or "pan yifei" means that one, though difflib's ratio of a short
name against a long one is low.
"""
from __future__ import annotations

import difflib
import re
import unicodedata

# What people call a platform, for the suggestion only: --platform twitter is still refused.
PLATFORM_ALIASES = {
    "twitter": "x", "tweet": "x", "fb": "facebook", "meta": "facebook", "ig": "instagram", "insta": "instagram",
    "yt": "youtube", "tik tok": "tiktok", "li": "linkedin", "微博": "weibo", "抖音": "douyin",
    "哔哩哔哩": "bilibili", "b站": "bilibili", "微信": "wechat", "公众号": "wechat", "weixin": "wechat",
}


def fold(text: str) -> str:
    """Lower case, accents off, runs of spaces one space: "  José  Núñez" -> "jose nunez"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare.casefold()).strip()


def _tight(text: str) -> str:
    """Folded, without spaces and punctuation: "Pan-Yifei" and "panyifei" meet."""
    return re.sub(r"[\W_]+", "", text)


def closest(value: str, names, n: int = 3, aliases: dict[str, str] | None = None) -> list[str]:
    """Up to ``n`` of ``names`` that ``value`` most likely meant, best first: names equal but for
    case and accents, then names containing it (or contained in it), then difflib's closest above
    0.6 similarity; [] when none is close."""
    names = list(dict.fromkeys(names))
    want = fold(value)
    if not want:
        return []
    folded = {name: fold(name) for name in names}
    out: list[str] = []
    if aliases and want in aliases and aliases[want] in folded:
        out.append(aliases[want])
    out += [name for name, f in folded.items() if f == want]
    tight = _tight(want)
    if tight:
        def ratio(f):
            return difflib.SequenceMatcher(None, want, f).ratio()

        inside = [name for name, f in folded.items()
                  if tight in _tight(f) or (_tight(f) and _tight(f) in tight and len(_tight(f)) >= 2)]
        out += sorted(inside, key=lambda name: -ratio(folded[name]))
    by_fold: dict[str, list[str]] = {}
    for name, f in folded.items():
        by_fold.setdefault(f, []).append(name)
    for f in difflib.get_close_matches(want, list(by_fold), n=n, cutoff=0.6):
        out += by_fold[f]
    return list(dict.fromkeys(out))[:n]
