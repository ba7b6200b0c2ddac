"""The canonical vocabulary every platform module maps its native columns to.

Kept in one place so that the store, the exports and the docs agree on names and order.
"""
from __future__ import annotations

# Canonical metrics, in the order the exports write them (docs/platforms.md maps each platform's
# native columns to these). Counts are integers; watch time is seconds and may be fractional.
METRICS: tuple[str, ...] = (
    "views",
    "impressions",
    "reach",
    "likes",
    "comments",
    "shares",
    "saves",
    "clicks",
    "video_views",
    "watch_time_s",
    "followers_gained",
)
FLOAT_METRICS = frozenset({"watch_time_s"})

# Levels, not flows: a count of followers at the end of a day (account_days) or as the roster
# states it (accounts). Never summed over days; the latest value before a period's end is used.
LEVELS: tuple[str, ...] = ("followers",)

# Metrics that count unique people: never summed across posts or days by the metrics engine.
NON_ADDITIVE = frozenset({"reach"})

# What one row of a report stands for.
POST_LIFETIME = "post_lifetime"  # one row per post, totals since publishing as of captured_at
POST_DAILY = "post_daily"  # one row per post and activity day
ACCOUNT_DAY = "account_day"  # one row per account and day (account-level exports)

# Descriptive fields a report may map besides metrics.
POST_FIELDS = ("post_id", "url", "title", "published_at", "post_type")
ACCOUNT_FIELDS = ("account_id", "account_handle", "account_name")
TIME_FIELDS = ("day", "captured_at")

# The campaign timezone when campaign.toml names none, and the zone of times an export writes
# without an offset unless --tz says otherwise: the reference campaign's (Yiwu). Days and ISO weeks
# are cut in the campaign timezone.
DEFAULT_TIMEZONE = "Asia/Shanghai"

PLATFORMS = ("x", "facebook", "instagram", "youtube", "tiktok", "linkedin", "weibo", "douyin", "bilibili", "wechat")
PLATFORM_LABELS = {
    "x": "X",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "youtube": "YouTube",
    "tiktok": "TikTok",
    "linkedin": "LinkedIn",
    "weibo": "Weibo",
    "douyin": "Douyin",
    "bilibili": "Bilibili",
    "wechat": "WeChat",
}
