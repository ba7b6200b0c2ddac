"""One fixed colour per platform, wherever a platform is drawn: the figures (dashboard/web/figures.py),
the Platforms page's table and the weekly report's platform mix (dashboard/analysis/summary.py), so a
platform looks the same on screen, on paper and in a notebook.
"""
from __future__ import annotations

# Okabe-Ito, a colour-blind-safe palette; one fixed colour per platform everywhere.
PLATFORM_COLOURS = {
    "x": "#000000",
    "facebook": "#0072B2",
    "instagram": "#CC79A7",
    "youtube": "#D55E00",
    "tiktok": "#009E73",
    "linkedin": "#56B4E9",
    "weibo": "#E69F00",
    "douyin": "#F0E442",
    "bilibili": "#999999",
    "wechat": "#117733",
}
