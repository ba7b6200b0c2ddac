"""The ISO week label, "2025-W03": read back here, once, for every part that is given one (a URL, the
CLI, a stored report, the figures and the summary). ``metrics.iso_week`` writes the labels; reading
them lives below the analysis because the words for a week (``i18n.week_label``, "2025年第3周")
need its Monday too, and this layer imports no analysis (docs/architecture.md).
"""
from __future__ import annotations

import re
from datetime import date

# An ISO week as ``metrics.iso_week`` writes it; the one pattern for every place that reads a week back.
WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{2})$")


def week_start(label: str) -> date:
    """The Monday of an ISO week label like 2025-W01 (surrounding spaces and a lower-case w
    accepted). ValueError for anything else, and for a week its year does not have (2025-W53)."""
    m = WEEK_LABEL.match(str(label).strip().upper())
    if not m:
        raise ValueError(f"week {label!r} is not an ISO week like 2025-W01")
    return date.fromisocalendar(int(m[1]), int(m[2]), 1)
