"""The dashboard's two UI languages, English ("en") and Simplified Chinese ("zh"), as data.

Every string a person reads on the dashboard comes from the dictionaries below through ``t``
(UI strings with ``{param}`` placeholders), ``platform_name``, ``category_name``,
``metric_name``/``metric_help`` (names and one-line definitions that follow docs/metrics.md) and
the formatters ``fmt_number``, ``fmt_date``, ``fmt_time``, ``fmt_datetime``, ``fmt_ago``,
``freshness`` and ``week_label``. Chinese falls back to English key by key, so a string added in
English only shows in English until it is translated (tests/test_i18n.py fails meanwhile). The
strings are plain text, never HTML: Dash renders them as text. Numbers, dates and relative times
are formatted here with Babel (CLDR's data for each language, ``LOCALES``) rather than with the
locale module, so that the output does not depend on the server's locale.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from zoneinfo import ZoneInfo

import pandas as pd
from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta, get_date_format
from babel.numbers import (format_compact_currency, format_compact_decimal, format_currency, format_decimal,
                           format_percent, get_currency_symbol, parse_pattern)

from collectors.model import PLATFORM_LABELS

LANGS = ("en", "zh")
DEFAULT_LANG = "en"
MISSING = "—"

# --- UI strings -------------------------------------------------------------------------------
# Keys are dotted by area. Chinese uses full-width punctuation between Chinese words and keeps
# ASCII for numbers and Latin names.
STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "app.title": "Campaign Reach",
        "lang.label": "Language",
        "lang.en": "English",
        "lang.zh": "中文",
        # pages
        "page.live": "Live",
        "page.influencers": "Influencers",
        "page.platforms": "Platforms",
        "page.posts": "Posts",
        "page.summary": "Weekly summary",
        "page.data": "Data",
        # filters
        "filter.date_range": "Date range",
        "filter.platforms": "Platforms",
        "filter.categories": "Categories",
        "filter.influencers": "Influencers",
        "filter.metric": "Metric",
        "filter.week": "Week",
        "filter.all": "All",
        "filter.clear": "Clear filters",
        "filter.start": "From",
        "filter.end": "To",
        # buttons
        "button.download_csv": "Download CSV",
        "button.download_tidy": "Download tidy rows",
        "button.download_report": "Download report",
        "button.upload": "Upload",
        "button.refresh": "Refresh",
        # column headers that are not metrics
        "col.influencer": "Influencer",
        "col.platform": "Platform",
        "col.platforms": "Platforms",
        "col.category": "Category",
        "col.account": "Account",
        "col.post": "Post",
        "col.title": "Title",
        "col.url": "Link",
        "col.published_at": "Published",
        "col.day": "Day",
        "col.week": "Week",
        "col.week_start": "Week starting",
        "col.rank": "#",
        "col.share": "Share",
        "col.basis": "Counted as",
        "col.this_week": "This week",
        "col.last_week": "Last week",
        "col.change": "Change",
        # empty states
        "empty.no_data": "No data yet: drop an export file on the Data page",
        "empty.no_match": "Nothing matches these filters",
        "empty.outside_window": ("No data in the campaign's dates ({start} to {end}, campaign.toml): the stored data "
                                 "run from {first} to {last}."),
        "empty.show_stored": "Show {first} to {last}",
        "empty.set_dates": "The weekly summary covers the campaign's dates: set start and end in campaign.toml to summarise these.",
        "empty.no_posts": "No posts published in this period",
        "empty.no_reach": "No post in this period reports reach",
        "empty.none": "(none)",
        "empty.untitled": "(untitled)",
        # freshness and relative times
        "freshness": "as of {time}, {ago}",
        "freshness.never": "no data imported yet",
        "ago.just_now": "just now",
        "ago.minutes": "{n} min ago",
        "ago.hours": "{n} h ago",
        # kiosk
        "kiosk.enter": "Kiosk mode",
        "label.stale": "stale",
        "label.freshness": "Freshness",
        "label.anomalies": "Anomalies",
        "view.daily": "Daily",
        "view.cumulative": "Cumulative",
        "chart.over_time": "{metric} by platform, per day",
        "chart.over_time_cumulative": "{metric} by platform, cumulative",
        "chart.day_axis": "Day (campaign timezone)",
        "label.iso_week": "ISO week",
        # the platform mix per ISO week (figures.mix_figure: the Platforms page and the kiosk)
        "chart.mix": "Platform mix: share of each ISO week's {metric}",
        "chart.mix_axis": "Share of the week (%)",
        "kiosk.exit": "Exit kiosk mode",
        "kiosk.next": "Next view in {seconds} s",
        # login
        "auth.login": "Log in",
        "auth.logout": "Log out",
        "auth.username": "User name",
        "auth.password": "Password",
        "auth.signed_in_as": "Signed in as {user}",
        "auth.failed": "Wrong user name or password",
        "auth.required": "Log in to see this campaign",
        "auth.expired": "Your session has expired: log in again",
        # upload
        "upload.drop": "Drop export files here, or click to choose",
        "upload.busy": "Importing {name}…",
        "upload.done": "Imported {name}: {rows} rows",
        "upload.duplicate": "{name} was imported before: nothing changed",
        "upload.roster_done": "Roster imported: {influencers} influencers, {accounts} accounts",
        # errors in words
        "error.generic": "Something went wrong: {detail}",
        "error.unreadable": "{name} could not be read: {detail}",
        "error.unknown_report": "{name} is not an export the importer knows: see the supported exports in the docs",
        "error.too_large": "{name} is larger than {limit}",
        "error.database": "The database cannot be reached: the numbers shown may be out of date",
        "error.week_unknown": "Week {week} has no campaign data",
        "error.forbidden": "You are not allowed to do that",
        # numbers and weeks
        "num.new": "new",
        "num.pp": "{value} pp",
        "num.money": "${value}",
        "num.range": "{low} – {high}",
        "week.label": "{year}-W{week:02d}",
        "week.partial": "partial ({days}/7 days)",
        "week.with_partial": "{week}, {partial}",
        # summary page
        "summary.title": "Weekly summary {week}",
        "summary.kpis": "KPIs",
        "summary.top_influencers": "Top {n} influencers by views or impressions",
        "summary.top_posts": "Top {n} posts published this week",
        "summary.platform_mix": "Platform mix",
        "summary.events": "Events",
        "summary.goals": "Goals",
        "live.goals": "Goals", "goal.met": "Met", "goal.on_track": "On track", "goal.behind": "Behind by {n} {metric}",
           "goal.value": "{value} of {target} ({share})", "goal.time_gone": "time gone {share}",
           "goal.forecast": "forecast by {deadline}: {value} (80% interval {low} – {high})",
           "goal.too_early": "less than two weeks of data: judged by the linear pace until then",
           "goal.week": "{week}: {met} of {n} influencers met it, {behind} below the pace ({share} of the week gone)",
           "goal.week_behind": "{n} behind",
        "summary.compared_with": "Changes compared with {what}",
        "summary.timezone": "Days and ISO weeks (Monday to Sunday) in the campaign timezone, {tz}",
        "label.impressions_basis": "{platform} (impressions)",
        "label.unassigned_account": "{handle} (unassigned)",
        "note.views": ("Views or impressions, in the rankings and the platform mix: views, or impressions for a "
                       "platform that reports no views (X, LinkedIn), as in EMV; an influencer's ER divides "
                       "engagements by these."),
        "note.reach": ("Reach of the posts published in the week, as of its last day: from the largest single "
                       "post (a lower bound) to the sum over posts (not deduplicated, an upper bound)."),
        "note.active": "Active influencers: influencers who published at least one post in the week.",
        # column-name templates for derived week-over-week columns
        "metric.wow": "{metric}, week over week",
        "metric.wow_pp": "{metric}, week over week (pp)",
        "metric.prev": "{metric}, last week",
        "help.wow": "(this week − last week) ÷ last week × 100; \"new\" when last week was 0",
        "help.wow_pp": "this week's rate minus last week's, in percentage points",
        "help.prev": "last week's value (for a partial week: the same weekdays of the week before)",
        # punctuation that differs between the languages
        "punct.stop": ".",
        "punct.semicolon": "; ",
        "punct.list": ", ",
        "punct.colon": ": ",
        # kiosk: the charts the big screen cycles through (dashboard/web/pages/live.py)
        "kiosk.mix": "Platform mix: share of each ISO week's {metric}",
        "kiosk.top": "Top {n} influencers by {metric}",
        "kiosk.impressions_note": "impressions stand in for views where a platform reports none",
        # anomaly reasons (dashboard/analysis/anomalies.py); English names metrics by their column
        "anomaly.robust_z": "{what} vs typical {typical}/day (robust z {score})",
        "anomaly.robust_z_none": "{what} where a typical day has none",
        "anomaly.hampel": "{what} vs {typical}/day, the median of the {window} days before (Hampel: {score} sigma)",
        "anomaly.followers": "{value} followers",
        "anomaly.no_post": "no post published that day",
        "anomaly.one_post": "{n} post published that day",
        "anomaly.posts": "{n} posts published that day",
        "anomaly.hype": "more than the {limit} a day HypeAuditor says ads alone rarely bring",
        "anomaly.corrected": "the platform corrected a count downwards around this day",
        "anomaly.event": "{day} is a campaign event day ({label})",
        "anomaly.other_day": "{other} {value} vs typical {typical}/day",
        "anomaly.views_alone": "{metric} without the engagement that usually comes with them",
        "anomaly.engagement_alone": "engagement without the {other} that usually come with it",
        "anomaly.stalled": ("no {metric} at all for {n} days, {first} to {last}, vs typical {typical}/day: the account "
                            "went silent (suspended, restricted or left alone)"),
        "anomaly.no_post_days": "no post published in those days",
        "anomaly.one_post_days": "{n} post published in those days",
        "anomaly.posts_days": "{n} posts published in those days",
        "anomaly.outlier_post": "post {post}: {what} vs typical {typical} per post ({times} times; robust z {score} of the log)",
        "anomaly.other_post": "{other} {value} vs typical {typical} per post",
        "anomaly.no_engagement": "its platform reports no engagement per post",
        "anomaly.published": "published that day",
        "anomaly.deleted": ("post {post}: {metric} 0 in its lifetime totals as of {time}, after {typical} as of {before}: "
                            "the post was deleted or hidden"),
        "anomaly.impossible": ("{metric} {value} > {bound_metric} {bound} on post {post} {when}: impossible, a data "
                               "error (an export mix-up or a count the platform has not finished correcting)"),
        "anomaly.on_day": "on {day} (the platform's daily row)",
        "anomaly.lifetime": "in its lifetime totals as of {time}",
        "anomaly.not_scored": "{platform}: {said}, too few to say what is typical (needs {min_days})",
        "anomaly.no_day": "no day has a daily {metric} figure",
        "anomaly.only_days": "only {n} days have a daily {metric} figure",
        # the weekly narrative (dashboard/analysis/summary.py)
        "narrative.partial": "This is a partial week ({days}/7 days), compared with the same days of the week before.",
        "narrative.no_views": "No views or impressions were reported this week.",
        "narrative.no_before": "{name}: {value} (no week before to compare with).",
        "narrative.new": "{name}: {value}, new this week (none the week before).",
        "narrative.steady": "{name} held steady week over week ({value}).",
        "narrative.rose": "{name} rose {pct} week over week",
        "narrative.fell": "{name} fell {pct} week over week",
        "narrative.led_by": ", led by {platform}",
        "narrative.most_on": ", most of it on {platform}",
        "narrative.er_held": "engagement rate by views held at {value}",
        "narrative.er_rose": "engagement rate by views rose {pp} pp to {value}",
        "narrative.er_fell": "engagement rate by views fell {pp} pp to {value}",
        "narrative.published": "{posts} posts published by {influencers} influencers",
        "narrative.top_influencer": "top influencer {name}",
        "narrative.events": "Events: {events}.",
        "narrative.event": "{label} ({day})",
        # the weekly report around the narrative (text and HTML)
        "summary.compared_first": "nothing: the first week of the campaign",
        "summary.compared_same_days": "the same days of {week} ({dates})",
        "summary.dates": "{start} to {end}",
        "summary.doc_title": "{campaign}: weekly summary {week}",
        "summary.sub": "Weekly summary {week}, {dates}{badge}. Changes compared with {what}.",
        "summary.badge": "{partial}: {dates}",
        "summary.last_week_value": "last week {value}",
        "summary.posts_by": "By lifetime views or impressions as of {day}.",
        "summary.er": "ER",
        "summary.counted_views": "views",
        "summary.counted_impressions": "impressions",
        "summary.footer_tz": "Days and ISO weeks (Monday to Sunday) in the campaign timezone, {tz}.",
        "summary.emv_formula": "EMV formula: {formula}.",
        "summary.text_head": "Weekly summary {week}: {dates}",
        "summary.text_partial": ", {partial}: {dates}",
        "summary.text_compared": "Compared with {what}. Timezone {tz}.",
        "summary.text_top_influencers": "Top {n} influencers (by views or impressions)",
        "summary.text_top_posts": "Top {n} posts published this week (lifetime views or impressions as of {day})",
        "summary.text_days": "Days and weeks in {tz}.",
    },
    "zh": {
        "app.title": "Campaign Reach 传播效果",
        "lang.label": "语言",
        "lang.en": "English",
        "lang.zh": "中文",
        "page.live": "实时",
        "page.influencers": "达人",
        "page.platforms": "平台",
        "page.posts": "帖子",
        "page.summary": "每周总结",
        "page.data": "数据",
        "filter.date_range": "日期范围",
        "filter.platforms": "平台",
        "filter.categories": "类别",
        "filter.influencers": "达人",
        "filter.metric": "指标",
        "filter.week": "周",
        "filter.all": "全部",
        "filter.clear": "清除筛选",
        "filter.start": "开始",
        "filter.end": "结束",
        "button.download_csv": "下载 CSV",
        "button.download_tidy": "下载明细数据",
        "button.download_report": "下载报告",
        "button.upload": "上传",
        "button.refresh": "刷新",
        "col.influencer": "达人",
        "col.platform": "平台",
        "col.platforms": "平台",
        "col.category": "类别",
        "col.account": "账号",
        "col.post": "帖子",
        "col.title": "标题",
        "col.url": "链接",
        "col.published_at": "发布时间",
        "col.day": "日期",
        "col.week": "周",
        "col.week_start": "周起始日",
        "col.rank": "#",
        "col.share": "占比",
        "col.basis": "计量口径",
        "col.this_week": "本周",
        "col.last_week": "上周",
        "col.change": "变化",
        "empty.no_data": "暂无数据：请在“数据”页面上传导出文件",
        "empty.no_match": "没有符合筛选条件的数据",
        "empty.outside_window": "活动日期（{start} 至 {end}，campaign.toml）内没有数据：已存储的数据从 {first} 到 {last}。",
        "empty.show_stored": "查看 {first} 至 {last}",
        "empty.set_dates": "每周总结按活动日期统计：请在 campaign.toml 中设置 start 和 end，以汇总这些数据。",
        "empty.no_posts": "该期间没有发布帖子",
        "empty.no_reach": "该期间没有帖子提供覆盖人数",
        "empty.none": "（无）",
        "empty.untitled": "（无标题）",
        "freshness": "数据截至 {time}，{ago}",
        "freshness.never": "尚未导入数据",
        "ago.just_now": "刚刚",
        "ago.minutes": "{n}分钟前",
        "ago.hours": "{n}小时前",
        "kiosk.enter": "展示模式",
        "label.stale": "已过时",
        "label.freshness": "数据时效",
        "label.anomalies": "异常",
        "view.daily": "每日",
        "view.cumulative": "累计",
        "chart.over_time": "各平台每日{metric}",
        "chart.over_time_cumulative": "各平台累计{metric}",
        "chart.day_axis": "日期（活动时区）",
        "label.iso_week": "ISO 周",
        "chart.mix": "平台构成：各 ISO 周{metric}的占比",
        "chart.mix_axis": "占本周比例（%）",
        "kiosk.exit": "退出展示模式",
        "kiosk.next": "{seconds}秒后切换",
        "auth.login": "登录",
        "auth.logout": "退出登录",
        "auth.username": "用户名",
        "auth.password": "密码",
        "auth.signed_in_as": "已登录：{user}",
        "auth.failed": "用户名或密码错误",
        "auth.required": "请登录后查看本活动",
        "auth.expired": "登录已过期，请重新登录",
        "upload.drop": "将导出文件拖放到此处，或点击选择文件",
        "upload.busy": "正在导入 {name}…",
        "upload.done": "已导入 {name}：{rows} 行",
        "upload.duplicate": "{name} 已导入过，数据未变",
        "upload.roster_done": "名单已导入：{influencers} 位达人，{accounts} 个账号",
        "error.generic": "出错了：{detail}",
        "error.unreadable": "无法读取 {name}：{detail}",
        "error.unknown_report": "{name} 不是可识别的导出文件，支持的导出格式见文档",
        "error.too_large": "{name} 超过 {limit}",
        "error.database": "无法连接数据库：显示的数据可能不是最新的",
        "error.week_unknown": "{week} 没有活动数据",
        "error.forbidden": "您没有执行此操作的权限",
        "num.new": "新增",
        "num.pp": "{value} 个百分点",
        "num.money": "US${value}",
        "num.range": "{low} – {high}",
        "week.label": "{year}年第{week}周",
        "week.partial": "不完整（{days}/7天）",
        "week.with_partial": "{week}，{partial}",
        "summary.title": "每周总结 {week}",
        "summary.kpis": "关键指标",
        "summary.top_influencers": "浏览量或展示次数前 {n} 名达人",
        "summary.top_posts": "本周发布的前 {n} 条帖子",
        "summary.platform_mix": "平台构成",
        "summary.events": "活动事件",
        "summary.goals": "目标",
        "live.goals": "目标", "goal.met": "已达成", "goal.on_track": "进度正常", "goal.behind": "落后{metric} {n}",
           "goal.value": "{value} / {target}（{share}）", "goal.time_gone": "时间已过 {share}",
           "goal.forecast": "预测截至 {deadline}：{value}（80% 区间 {low} – {high}）",
           "goal.too_early": "数据不足两周，暂按线性进度判断",
           "goal.week": "{week}：{met}/{n} 位达人已达标，{behind} 位低于进度（本周已过 {share}）",
           "goal.week_behind": "{n} 位落后",
        "summary.compared_with": "变化对比：{what}",
        "summary.timezone": "日期与 ISO 周（周一至周日）按活动时区 {tz} 计算",
        "label.impressions_basis": "{platform}（展示次数）",
        "label.unassigned_account": "{handle}（未分配）",
        "note.views": ("排名和平台构成中的浏览量或展示次数：计浏览量；不提供浏览量的平台（X、LinkedIn）计展示次数，"
                       "与 EMV 相同；达人的互动率以此为分母。"),
        "note.reach": "本周发布帖子截至本周最后一天的覆盖人数：从单帖最高值（下限）到各帖之和（未去重，上限）。",
        "note.active": "活跃达人：本周至少发布一条帖子的达人。",
        "metric.wow": "{metric}周环比",
        "metric.wow_pp": "{metric}周环比（百分点）",
        "metric.prev": "上周{metric}",
        "help.wow": "（本周 − 上周）÷ 上周 × 100；上周为 0 时显示“新增”",
        "help.wow_pp": "本周比率减上周比率，单位为百分点",
        "help.prev": "上周的数值（不完整的周：与上周相同的星期几）",
        "punct.stop": "。",
        "punct.semicolon": "；",
        "punct.list": "、",
        "punct.colon": "：",
        "kiosk.mix": "平台构成：各 ISO 周{metric}的占比",
        "kiosk.top": "{metric}前 {n} 名达人",
        "kiosk.impressions_note": "不提供浏览量的平台以展示次数代替",
        "anomaly.robust_z": "{what}，通常为每天 {typical}（稳健 z 值 {score}）",
        "anomaly.robust_z_none": "{what}，而通常每天为 0",
        "anomaly.hampel": "{what}，前 {window} 天的中位数为每天 {typical}（Hampel 滤波：{score} 个标准差）",
        "anomaly.followers": "新增粉丝 {value}",
        "anomaly.no_post": "当天没有发布帖子",
        "anomaly.one_post": "当天发布了 {n} 条帖子",
        "anomaly.posts": "当天发布了 {n} 条帖子",
        "anomaly.hype": "超过每天 {limit}：据 HypeAuditor，仅靠广告很少能达到",
        "anomaly.corrected": "平台在这一天前后下调了计数",
        "anomaly.event": "{day}是活动事件日（{label}）",
        "anomaly.other_day": "{other} {value}，通常为每天 {typical}",
        "anomaly.views_alone": "{metric}上升，互动却没有随之增加",
        "anomaly.engagement_alone": "互动量上升，{other}却没有随之增加",
        "anomaly.stalled": "连续 {n} 天完全没有{metric}（{first}至{last}），通常为每天 {typical}：账号陷入沉寂（被封禁、限流或停用）",
        "anomaly.no_post_days": "这几天没有发布帖子",
        "anomaly.one_post_days": "这几天发布了 {n} 条帖子",
        "anomaly.posts_days": "这几天发布了 {n} 条帖子",
        "anomaly.outlier_post": "帖子 {post}：{what}，通常每帖 {typical}（{times} 倍；对数稳健 z 值 {score}）",
        "anomaly.other_post": "{other} {value}，通常每帖 {typical}",
        "anomaly.no_engagement": "该平台不提供每条帖子的互动数据",
        "anomaly.published": "当天发布",
        "anomaly.deleted": "帖子 {post}：截至{time}的累计{metric}为 0，此前截至{before}为 {typical}：帖子已被删除或隐藏",
        "anomaly.impossible": ("帖子 {post} {when}：{metric} {value} > {bound_metric} {bound}，这不可能，属数据错误"
                               "（导出文件混淆，或平台尚未修正完毕的计数）"),
        "anomaly.on_day": "在{day}的平台每日数据中",
        "anomaly.lifetime": "截至{time}的累计数据中",
        "anomaly.not_scored": "{platform}：{said}，太少，无法判断正常水平（至少需要 {min_days} 天）",
        "anomaly.no_day": "没有一天有每日{metric}数据",
        "anomaly.only_days": "只有 {n} 天有每日{metric}数据",
        "narrative.partial": "本周数据不完整（{days}/7天），与上周相同的几天对比。",
        "narrative.no_views": "本周没有浏览量或展示次数数据。",
        "narrative.no_before": "{name}：{value}（没有上周数据可对比）。",
        "narrative.new": "{name}：{value}，为本周新增（上周为零）。",
        "narrative.steady": "{name}与上周基本持平（{value}）。",
        "narrative.rose": "{name}环比上升 {pct}",
        "narrative.fell": "{name}环比下降 {pct}",
        "narrative.led_by": "，主要来自 {platform}",
        "narrative.most_on": "，降幅主要在 {platform}",
        "narrative.er_held": "按浏览量计算的互动率保持在 {value}",
        "narrative.er_rose": "按浏览量计算的互动率上升 {pp} 个百分点，至 {value}",
        "narrative.er_fell": "按浏览量计算的互动率下降 {pp} 个百分点，至 {value}",
        "narrative.published": "{influencers} 位达人发布了 {posts} 条帖子",
        "narrative.top_influencer": "浏览量最高的达人：{name}",
        "narrative.events": "活动事件：{events}。",
        "narrative.event": "{label}（{day}）",
        "summary.compared_first": "无（活动的第一周）",
        "summary.compared_same_days": "{week}的相同日期（{dates}）",
        "summary.dates": "{start} 至 {end}",
        "summary.doc_title": "{campaign}：每周总结 {week}",
        "summary.sub": "每周总结 {week}，{dates}{badge}。变化对比：{what}。",
        "summary.badge": "{partial}：{dates}",
        "summary.last_week_value": "上周 {value}",
        "summary.posts_by": "按截至 {day} 的累计浏览量或展示次数排序。",
        "summary.er": "互动率",
        "summary.counted_views": "浏览量",
        "summary.counted_impressions": "展示次数",
        "summary.footer_tz": "日期与 ISO 周（周一至周日）按活动时区 {tz} 计算。",
        "summary.emv_formula": "EMV 公式：{formula}。",
        "summary.text_head": "每周总结 {week}：{dates}",
        "summary.text_partial": "，{partial}：{dates}",
        "summary.text_compared": "变化对比：{what}。时区：{tz}。",
        "summary.text_top_influencers": "浏览量或展示次数前 {n} 名达人",
        "summary.text_top_posts": "本周发布的前 {n} 条帖子（按截至 {day} 的累计浏览量或展示次数）",
        "summary.text_days": "日期和周按 {tz} 计算。",
    },
}

# --- platforms --------------------------------------------------------------------------------
# In Chinese the platforms' own Chinese names where the platform itself uses one; X, Facebook,
# Instagram, YouTube, TikTok and LinkedIn keep their Latin names (that is how Chinese media write
# them). LinkedIn's China brand 领英 is offered as an alternative label (``brand=True``) and is
# understood by ``platform_from_label``, but is not the default: the campaign posts on global
# LinkedIn, which Chinese users also call LinkedIn.
PLATFORM_NAMES: dict[str, dict[str, str]] = {
    "en": {
        **PLATFORM_LABELS,  # the importers' names are the English UI's names
        "weibo": "Weibo",
        "douyin": "Douyin",
        "bilibili": "Bilibili",
        "wechat": "WeChat",
    },
    "zh": {
        "x": "X",
        "facebook": "Facebook",
        "instagram": "Instagram",
        "youtube": "YouTube",
        "tiktok": "TikTok",
        "linkedin": "LinkedIn",
        "weibo": "微博",
        "douyin": "抖音",
        "bilibili": "哔哩哔哩",
        "wechat": "微信",
    },
}
PLATFORM_BRAND_NAMES_ZH: dict[str, str] = {"linkedin": "领英"}

# --- influencer categories (collectors/roster.py CATEGORIES, plus "unassigned") ----------------
CATEGORY_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "official": "Official",
        "merchant": "Merchant",
        "entrepreneur": "Entrepreneur",
        "foreign resident": "Foreign resident",
        "journalist": "Journalist",
        "media": "Media",
        "international influencer": "International influencer",
        "unassigned": "Unassigned",
    },
    "zh": {
        "official": "官方",
        "merchant": "商户",
        "entrepreneur": "创业者",
        "foreign resident": "在华外籍人士",
        "journalist": "记者",
        "media": "媒体",
        "international influencer": "国际网红",
        "unassigned": "未分配",
    },
}

# --- metrics: names and one-line definitions (docs/metrics.md is the reference) -----------------
METRIC_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "views": "Views",
        "impressions": "Impressions",
        "views_or_impressions": "Views or impressions",
        "reach": "Reach",
        "likes": "Likes",
        "comments": "Comments",
        "shares": "Shares",
        "saves": "Saves",
        "clicks": "Clicks",
        "video_views": "Video views",
        "watch_time_s": "Watch time (s)",
        "followers_gained": "Followers gained",
        "followers": "Followers",
        "engagements": "Engagements",
        "er_views": "ER by views",
        "er_impressions": "ER by impressions",
        "virality_views": "Virality by views",
        "er_followers": "ER by followers",
        "er_reach": "ER by reach",
        "avg_post_er_reach": "Average post ER by reach",
        "reach_max_post": "Reach, largest post",
        "reach_sum": "Reach, sum over posts",
        "reach_posts": "Posts with reach",
        "reach_avg_post": "Average post reach",
        "reach_est_random_duplication": "Reach, estimated",
        "reach_account": "Account reach",
        "reach_range": "Reach (not deduplicated)",
        "emv_usd": "EMV (USD)",
        "emv_formula": "EMV formula",
        "posts_active": "Posts with activity",
        "posts": "Posts published",
        "active_influencers": "Active influencers",
        "days_covered": "Days covered",
        "partial": "Partial week",
        "interpolated": "Interpolated",
        "corrected": "Corrected",
    },
    "zh": {
        "views": "浏览量",
        "impressions": "展示次数",
        "views_or_impressions": "浏览量或展示次数",
        "reach": "覆盖人数",
        "likes": "点赞数",
        "comments": "评论数",
        "shares": "分享数",
        "saves": "收藏数",
        "clicks": "点击次数",
        "video_views": "视频播放量",
        "watch_time_s": "观看时长（秒）",
        "followers_gained": "新增粉丝数",
        "followers": "粉丝数",
        "engagements": "互动量",
        "er_views": "互动率（按浏览量）",
        "er_impressions": "互动率（按展示次数）",
        "virality_views": "分享率（按浏览量）",
        "er_followers": "互动率（按粉丝数）",
        "er_reach": "互动率（按覆盖人数）",
        "avg_post_er_reach": "单帖平均互动率（按覆盖人数）",
        "reach_max_post": "覆盖人数（单帖最高）",
        "reach_sum": "覆盖人数（各帖之和）",
        "reach_posts": "有覆盖数据的帖子数",
        "reach_avg_post": "单帖平均覆盖人数",
        "reach_est_random_duplication": "覆盖人数（估算）",
        "reach_account": "账号覆盖人数",
        "reach_range": "覆盖人数（未去重）",
        "emv_usd": "媒体价值 EMV（美元）",
        "emv_formula": "EMV 公式",
        "posts_active": "有活动的帖子数",
        "posts": "发布帖子数",
        "active_influencers": "活跃达人数",
        "days_covered": "覆盖天数",
        "partial": "不完整周",
        "interpolated": "含插值",
        "corrected": "含平台修正",
    },
}

METRIC_HELP: dict[str, dict[str, str]] = {
    "en": {
        "views": "views as the platform counts them, summed over posts and days",
        "impressions": "times posts were shown, summed over posts and days",
        "views_or_impressions": ("views, or impressions for a platform that reports no views (X, LinkedIn): "
                                 "the volume compared across platforms, as in EMV"),
        "reach": "unique people a post reached, as the platform reports it; never summed",
        "likes": "likes, summed over posts and days",
        "comments": "comments, summed over posts and days",
        "shares": "shares, summed over posts and days",
        "saves": "saves, summed over posts and days",
        "clicks": "clicks, summed over posts and days",
        "video_views": "video views as the platform reports them, summed over posts and days",
        "watch_time_s": "watch time in seconds, summed over posts and days",
        "followers_gained": "followers gained, summed over posts and days",
        "followers": ("followers at the end of the selection, a level not summed over days: the latest "
                      "export figure, else the roster's"),
        "engagements": "likes + comments + shares + saves (the [engagement] list of campaign.toml)",
        "er_views": "engagements ÷ views (ratio of totals)",
        "er_impressions": "engagements ÷ impressions (ratio of totals)",
        "virality_views": "shares ÷ views (ratio of totals)",
        "er_followers": "engagements ÷ followers of the accounts with a follower count (ratio of totals)",
        "er_reach": "lifetime engagements ÷ reach of the posts published in the selection (ratio of totals)",
        "avg_post_er_reach": "mean of each post's engagements ÷ reach (not a ratio of totals)",
        "reach_max_post": "the largest post reach: a lower bound of unique reach",
        "reach_sum": "sum of post reach, not deduplicated: an upper bound",
        "reach_posts": "posts with a reach figure",
        "reach_avg_post": "average reach of the posts with a reach figure",
        "reach_est_random_duplication": "U·(1 − Π(1 − Rᵢ/U)): reach estimated by random duplication over a universe U",
        "reach_account": "the platform's own deduplicated reach of an account on a day; never summed",
        "reach_range": "from the largest post reach (a lower bound) to the sum of post reach (an upper bound)",
        "emv_usd": ("earned media value: views × CPM ÷ 1,000 in US dollars (impressions where a platform "
                    "reports no views)"),
        "emv_formula": "the version of the EMV formula the value was computed with",
        "posts_active": "posts with any activity in the selection",
        "posts": "posts published in the period",
        "active_influencers": "influencers who published at least one post in the period",
        "days_covered": "days of the ISO week inside the campaign, the selection and the data",
        "partial": ("fewer than 7 days covered: compared with the same weekdays of the week before"),
        "interpolated": "part of the value was spread over several days (or the publish time was unknown)",
        "corrected": "a platform correction (a lower lifetime value) was absorbed in this value",
    },
    "zh": {
        "views": "平台统计的浏览量，按帖子和日期求和",
        "impressions": "帖子被展示的次数，按帖子和日期求和",
        "views_or_impressions": "浏览量；不提供浏览量的平台（X、LinkedIn）计展示次数：跨平台比较的体量，与 EMV 相同",
        "reach": "平台报告的单帖触达的独立用户数；从不求和",
        "likes": "点赞数，按帖子和日期求和",
        "comments": "评论数，按帖子和日期求和",
        "shares": "分享数，按帖子和日期求和",
        "saves": "收藏数，按帖子和日期求和",
        "clicks": "点击次数，按帖子和日期求和",
        "video_views": "平台报告的视频播放量，按帖子和日期求和",
        "watch_time_s": "观看时长（秒），按帖子和日期求和",
        "followers_gained": "新增粉丝数，按帖子和日期求和",
        "followers": "所选期间结束时的粉丝数，为存量、不按日求和：取导出文件的最新值，否则取名单中的数值",
        "engagements": "点赞 + 评论 + 分享 + 收藏（campaign.toml 的 [engagement] 列表）",
        "er_views": "互动量 ÷ 浏览量（总量之比）",
        "er_impressions": "互动量 ÷ 展示次数（总量之比）",
        "virality_views": "分享数 ÷ 浏览量（总量之比）",
        "er_followers": "互动量 ÷ 有粉丝数的账号的粉丝数（总量之比）",
        "er_reach": "所选期间发布帖子的累计互动量 ÷ 覆盖人数（总量之比）",
        "avg_post_er_reach": "各帖互动量 ÷ 覆盖人数的平均值（不是总量之比）",
        "reach_max_post": "单帖最高覆盖人数：独立覆盖人数的下限",
        "reach_sum": "各帖覆盖人数之和，未去重：上限",
        "reach_posts": "有覆盖人数数据的帖子数",
        "reach_avg_post": "有覆盖人数数据的帖子的平均覆盖人数",
        "reach_est_random_duplication": "U·(1 − Π(1 − Rᵢ/U))：按随机重叠模型在总体 U 上估算的覆盖人数",
        "reach_account": "平台自身去重后的账号单日覆盖人数；从不求和",
        "reach_range": "从单帖最高覆盖人数（下限）到各帖覆盖人数之和（上限）",
        "emv_usd": "赢得媒体价值：浏览量 × CPM ÷ 1,000，单位美元（平台不提供浏览量时用展示次数）",
        "emv_formula": "计算该数值所用的 EMV 公式版本",
        "posts_active": "所选范围内有任何活动的帖子数",
        "posts": "该期间发布的帖子数",
        "active_influencers": "该期间至少发布一条帖子的达人",
        "days_covered": "ISO 周中位于活动期、所选范围和数据范围内的天数",
        "partial": "覆盖不足 7 天：与上周相同的星期几对比",
        "interpolated": "部分数值被分摊到多天（或发布时间未知）",
        "corrected": "该数值吸收了平台修正（累计值下降）",
    },
}

# Month abbreviations as data: strftime's %b follows the server locale.
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

NUMBER_KINDS = ("count", "rate", "money", "pp", "percent_change")
# The CLDR locale (through Babel) of each UI language.
LOCALES = {"en": "en", "zh": "zh_Hans_CN"}
# Compact counts (``fmt_number(..., compact=True)``): below COMPACT_FROM written out in full in both
# languages; from there on CLDR's short compact form, the unit chosen after rounding (99,999,999 is
# 1亿, not 10000万) and trailing zeros dropped: 1万, 136.5万, 1.23亿; 12.3K, 1.37M. One decimal in
# the first unit (K, 万) and two from the second on (COMPACT_TWO_DECIMALS_FROM): a step of 0.1亿
# (1,000万) is too coarse for a headline figure. Chinese stops at 亿 (12,345亿, as the dashboard
# always wrote it) where CLDR goes on to 万亿 (COMPACT_LARGEST); English follows CLDR (K, M, B, T).
COMPACT_FROM = 10_000
COMPACT_TWO_DECIMALS_FROM = {"en": 10**6, "zh": 10**8}
COMPACT_LARGEST = {"zh": 10**8}
# Where CLDR's default formats are not what the dashboard writes: English dates day first (CLDR's
# medium date is "Dec 22, 2024"), and times on a 24-hour clock in both languages (CLDR's English
# short time is "2:05 PM"). Chinese dates are CLDR's long date, 2024年12月22日.
DATE_FORMATS = {"en": "d MMM y", "zh": "long"}
TIME_FORMAT = "HH:mm"
_ZH_TAGS = ("zh", "cn", "chinese", "中文")


# --- language ---------------------------------------------------------------------------------

def normalise_lang(value) -> str:
    """Maps "zh", "zh-CN", "zh_Hans", "zh-TW", "cn" and the like to "zh", anything else to "en".

    Also takes a browser Accept-Language header ("fr-FR,zh-CN;q=0.8,en;q=0.5"): the first tag in
    a language we have wins. Traditional-Chinese tags get Simplified Chinese, the closer of the
    two languages we offer."""
    if not isinstance(value, str):
        return DEFAULT_LANG
    for part in value.split(","):
        tag = part.split(";")[0].strip().lower().replace("_", "-")
        primary = tag.split("-")[0]
        if tag in _ZH_TAGS or primary in _ZH_TAGS:
            return "zh"
        if primary == "en":
            return "en"
    return DEFAULT_LANG


def add_strings(strings: dict[str, dict[str, str]]) -> None:
    """A page module's own UI strings, registered at import: {"en": {...}, "zh": {...}}.

    Every English key needs a Chinese one (tests/test_i18n.py checks after importing all pages);
    a key may be registered once, so two pages cannot silently disagree on a string."""
    for lang, table in strings.items():
        for key, text in table.items():
            if STRINGS[lang].get(key, text) != text:
                raise ValueError(f"UI string {key!r} ({lang}) is registered twice with different text")
            STRINGS[lang][key] = text


def t(key: str, lang: str, **params) -> str:
    """The UI string ``key`` in ``lang``, with ``{param}`` placeholders filled from ``params``.

    A key missing in Chinese falls back to English; a key missing in English is a programming
    error and raises KeyError (tests catch it before a user does)."""
    text = template(key, lang)
    return text.format(**params) if params else text


def template(key: str, lang: str) -> str:
    """The UI string ``key`` in ``lang`` with its ``{param}`` placeholders unfilled (for a caller
    that fills them with something other than text, such as HTML it has escaped itself)."""
    lang = normalise_lang(lang)
    text = STRINGS[lang].get(key)
    if text is None:
        if key not in STRINGS[DEFAULT_LANG]:
            raise KeyError(f"no UI string {key!r}")
        text = STRINGS[DEFAULT_LANG][key]
    return text


# The EMV formula version every EMV output carries (config.EMV_FORMULA_VERSION, a value in the
# exports' emv_formula column, so it stays English there): its words in each language.
EMV_FORMULAS = {
    "emv-v1: views x CPM / 1000 (impressions where a platform reports no views)": {
        "zh": "emv-v1：浏览量 × CPM ÷ 1000（平台不提供浏览量时用展示次数）",
    },
}


def emv_formula(version: str, lang: str) -> str:
    """The EMV formula ``version`` as a reader of ``lang`` reads it; a version without a
    translation (a newer one, set by hand) as it is."""
    return EMV_FORMULAS.get(version, {}).get(normalise_lang(lang), version)


def _lookup(table: dict[str, dict[str, str]], key: str, lang: str) -> str | None:
    lang = normalise_lang(lang)
    return table[lang].get(key) or table[DEFAULT_LANG].get(key)


def platform_name(platform: str, lang: str, brand: bool = False) -> str:
    """The platform's display name; with ``brand`` in Chinese, LinkedIn's China brand 领英.
    A platform we have no name for is shown as its key (a new platform is still readable)."""
    if brand and normalise_lang(lang) == "zh" and platform in PLATFORM_BRAND_NAMES_ZH:
        return PLATFORM_BRAND_NAMES_ZH[platform]
    return _lookup(PLATFORM_NAMES, platform, lang) or str(platform)


def platform_from_label(label: str) -> str | None:
    """The platform key for a name in either language (or 领英), case-insensitive; None if unknown."""
    text = str(label or "").strip().casefold()
    for names in (*PLATFORM_NAMES.values(), PLATFORM_BRAND_NAMES_ZH):
        for key, name in names.items():
            if text in (name.casefold(), key):
                return key
    return None


def category_name(category, lang: str) -> str:
    """The influencer category's name; no category is "unassigned", an unknown one shows as given."""
    if _missing(category) or category == "":
        category = "unassigned"
    return _lookup(CATEGORY_NAMES, str(category), lang) or str(category)


def _derived(metric: str) -> tuple[str, str] | None:
    """("wow"|"wow_pp"|"prev", base metric) for a derived weekly column, else None."""
    if metric.startswith("wow_") and metric.endswith("_pp"):
        return "wow_pp", metric[4:-3]
    if metric.startswith("wow_"):
        return "wow", metric[4:]
    if metric.startswith("prev_"):
        return "prev", metric[5:]
    return None


def metric_name(metric: str, lang: str) -> str:
    """A metric's or rate's display name, including the derived ``wow_*``, ``wow_*_pp`` and
    ``prev_*`` columns; an unknown column shows as its key."""
    name = _lookup(METRIC_NAMES, metric, lang)
    if name:
        return name
    d = _derived(metric)
    if d and _lookup(METRIC_NAMES, d[1], lang):
        return t(f"metric.{d[0]}", lang, metric=_lookup(METRIC_NAMES, d[1], lang))
    return metric


def metric_in_sentence(metric: str, lang: str) -> str:
    """The metric's name inside a sentence: lower case in English ("reached 384,026 views"),
    acronyms kept ("EMV"); as is in Chinese."""
    name = metric_name(metric, lang)
    return name[0].lower() + name[1:] if lang != "zh" and len(name) > 1 and name[1].islower() else name


def metric_help(metric: str, lang: str) -> str:
    """A one-line definition of a metric (docs/metrics.md), or "" for an unknown column."""
    text = _lookup(METRIC_HELP, metric, lang)
    if text:
        return text
    d = _derived(metric)
    if d and _lookup(METRIC_NAMES, d[1], lang):
        return t(f"help.{d[0]}", lang)
    return ""


def column_name(column: str, lang: str) -> str:
    """A table header: a metric's name, else a UI column name (``col.<column>``), else the column."""
    if _lookup(METRIC_NAMES, column, lang) or _derived(column):
        return metric_name(column, lang)
    key = f"col.{column}"
    return t(key, lang) if key in STRINGS[DEFAULT_LANG] else column


# --- numbers ----------------------------------------------------------------------------------

def _missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[normalise_lang(lang)])


def _exact(x: float) -> Decimal:
    # The float's exact value: Babel then rounds it as Python's own formatting does (half to even
    # on the binary value), so a number reads the same here and in an f-string elsewhere.
    return Decimal(x)


@cache
def _symbols(lang: str) -> tuple[str, str, str, str, str]:
    """The locale's group and decimal separators, minus and percent signs and its US dollar sign."""
    loc = _locale(lang)
    sym = loc.number_symbols["latn"]
    return sym["group"], sym["decimal"], sym["minusSign"], sym["percentSign"], get_currency_symbol("USD", loc)


# The three formats a grid writes in every row, done here with the locale's symbols: Babel's
# format_decimal, format_percent and format_currency take about 25 µs a number, and the Influencers
# grid writes a dozen numbers per influencer (4,000 influencers at 100x the demo: 50,000 numbers, a
# second more per view).
# They equal Babel's for every value (tests/test_i18n.py compares them on random numbers).

def _grouped(n: int, lang: str, prefix: str = "") -> str:
    """``format_decimal(n, "#,##0")`` (``prefix``: the currency sign of "¤#,##0")."""
    group, _, minus, _, _ = _symbols(lang)
    text = prefix + f"{abs(n):,d}".replace(",", group)
    return minus + text if n < 0 else text


def _percent(x: float, lang: str) -> str:
    """``format_percent(x, "0.00%")``: the exact value times 100, rounded half to even."""
    _, decimal, minus, percent, _ = _symbols(lang)
    text = f"{_exact(x) * 100:.2f}"
    return (minus + text[1:] if text.startswith("-") else text).replace(".", decimal) + percent


def _compact(n: int, lang: str, money: bool = False) -> str:
    """A rounded count (or whole dollars) in CLDR's short compact form (COMPACT_FROM and the
    settings below it)."""
    loc = _locale(lang)
    if abs(n) < COMPACT_FROM:
        return _grouped(n, lang, _symbols(lang)[4] if money else "")
    digits = 1 if abs(n) < COMPACT_TWO_DECIMALS_FROM[lang] else 2
    largest = COMPACT_LARGEST.get(lang)
    if largest and (Decimal(abs(n)) / largest).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP) >= 10_000:
        # Past the largest unit: its CLDR suffix on a grouped number (12,345亿).
        unit = parse_pattern(loc.compact_decimal_formats["short"]["other"][str(largest)]).suffix[0]
        pattern = "#,##0." + "#" * digits + unit
        value = (Decimal(n) / largest).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
        return (format_currency(value, "USD", format="¤" + pattern, currency_digits=False, locale=loc) if money
                else format_decimal(value, format=pattern, locale=loc))
    # A tie in the shortened count rounds up, as people round (四舍五入: 2,380,500 is 238.1万), where
    # Babel's default context would round it to even (238万).
    with localcontext(rounding=ROUND_HALF_UP):
        if money:
            return format_compact_currency(n, "USD", locale=loc, fraction_digits=digits)
        return format_compact_decimal(n, locale=loc, fraction_digits=digits)


def _signed(x: float, places: int, lang: str, percent: bool = False) -> str:
    """``x`` with a sign and ``places`` decimals (``percent``: ``x`` is in percent already); a value
    that rounds to zero has none (-0.001 must not read as a fall)."""
    value = _exact(x)
    digits = "0." + "0" * places + ("%" if percent else "")
    if round(value, places) == 0:
        value, pattern = abs(value), digits
    else:
        pattern = f"+{digits};-{digits}"
    if percent:
        return format_percent(value / 100, format=pattern, locale=_locale(lang))
    return format_decimal(value, format=pattern, locale=_locale(lang))


def fmt_number(x, lang: str, kind: str = "count", compact: bool = False) -> str:
    """A number as people read it in ``lang``.

    ``kind``: "count" (1,234,567), "rate" (a fraction shown as percent: 0.0605 -> 6.05%),
    "money" (US dollars: $16,002 / US$16,002), "pp" (percentage points, signed: +0.59 pp /
    +0.59 个百分点) or "percent_change" (already in percent, signed: +24.9%). ``compact`` shortens
    counts and money (136.5万, 1.23亿 / 1.4M). None, NaN and infinities are "—"; "new" (a change
    from zero) is "new" / "新增". A signed value that rounds to zero is shown without a sign."""
    if kind not in NUMBER_KINDS:
        raise ValueError(f"kind must be one of {NUMBER_KINDS}, not {kind!r}")
    lang = normalise_lang(lang)
    if isinstance(x, str):
        if x.strip().lower() == "new":
            return t("num.new", lang)
        try:
            x = float(x)
        except ValueError:
            return MISSING
    if _missing(x):
        return MISSING
    x = float(x)
    if not math.isfinite(x):
        return MISSING
    if kind == "rate":
        # Ungrouped, as the tables always wrote a rate (an ER over 1,000% is a data problem to see).
        return _percent(x, lang)
    if kind == "pp":
        return t("num.pp", lang, value=_signed(x, 2, lang))
    if kind == "percent_change":
        return _signed(x, 1, lang, percent=True)
    # Whole units, rounded first: -0.4 is 0, never "-0".
    n = round(x)
    if compact:
        return _compact(n, lang, money=kind == "money")
    return _grouped(n, lang, _symbols(lang)[4] if kind == "money" else "")


def fmt_range(low, high, lang: str, kind: str = "count", compact: bool = False) -> str:
    """A range such as reach's lower and upper bound: "7,484 – 20,162"; one end alone if the
    other is unknown, "—" if both are."""
    lo, hi = fmt_number(low, lang, kind, compact), fmt_number(high, lang, kind, compact)
    if lo == MISSING or hi == MISSING or lo == hi:
        return hi if lo == MISSING else lo
    return t("num.range", lang, low=lo, high=hi)


# --- dates and times --------------------------------------------------------------------------

def _as_date(d) -> date | None:
    if _missing(d):
        return None
    if isinstance(d, str):
        d = pd.Timestamp(d)
    if isinstance(d, datetime):  # also pd.Timestamp
        return d.date()
    return d


def fmt_date(d, lang: str) -> str:
    """22 Dec 2024 / 2024年12月22日 (the day without a leading zero in both; DATE_FORMATS)."""
    d = _as_date(d)
    if d is None:
        return MISSING
    lang = normalise_lang(lang)
    return format_date(d, DATE_FORMATS[lang], locale=_locale(lang))


def _zone(tz) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _local(ts, tz) -> datetime | None:
    """``ts`` in timezone ``tz``; a naive ``ts`` is taken as UTC, as the store keeps it."""
    if _missing(ts):
        return None
    ts = pd.Timestamp(ts)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(_zone(tz)).to_pydatetime()


def fmt_time(ts, lang: str, tz) -> str:
    """14:05 (24-hour clock in both languages) in the timezone ``tz``."""
    local = _local(ts, tz)
    return MISSING if local is None else format_time(local, TIME_FORMAT, locale=_locale(lang))


@cache
def _datetime_format(lang: str) -> str:
    # The date and the time joined as CLDR joins them: "{1}, {0}" in English, "{1} {0}" in Chinese.
    loc = _locale(lang)
    day = DATE_FORMATS[lang]
    day = get_date_format(day, locale=loc).pattern if day in ("short", "medium", "long", "full") else day
    return loc.datetime_formats["medium"].replace("{1}", day).replace("{0}", TIME_FORMAT)


def fmt_datetime(ts, lang: str, tz) -> str:
    """22 Dec 2024, 14:05 / 2024年12月22日 14:05 in the timezone ``tz`` (the campaign's: a
    required argument, so that a forgotten one does not silently show UTC)."""
    local = _local(ts, tz)
    if local is None:
        return MISSING
    lang = normalise_lang(lang)
    return format_datetime(local, _datetime_format(lang), tzinfo=local.tzinfo, locale=_locale(lang))


def _now_utc(now) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    now = pd.Timestamp(now)
    return (now.tz_localize("UTC") if now.tzinfo is None else now).to_pydatetime()


def fmt_ago(ts, lang: str, now=None) -> str:
    """How long ago ``ts`` was, in whole units: "just now" under a minute (and for a time in the
    future, a clock skew), then minutes, hours under a day, then days: "2 h ago" / "2小时前"."""
    if _missing(ts):
        return MISSING
    then = pd.Timestamp(ts)
    then = then.tz_localize("UTC") if then.tzinfo is None else then
    seconds = (_now_utc(now) - then.to_pydatetime()).total_seconds()
    if seconds < 60:
        return t("ago.just_now", lang)  # CLDR has no words for it
    # Minutes and hours in the dashboard's short words, which fit the freshness line: CLDR's
    # English says "5 min. ago" or "5 minutes ago".
    if seconds < 3600:
        return t("ago.minutes", lang, n=int(seconds // 60))
    if seconds < 86400:
        return t("ago.hours", lang, n=int(seconds // 3600))
    # Days however many (CLDR's "1 day ago", "3天前"): the whole unit, never rounded up to a week or
    # a month (an infinite threshold keeps the granularity's unit).
    return format_timedelta(-timedelta(days=int(seconds // 86400)), granularity="day", threshold=math.inf,
                            add_direction=True, format="long", locale=_locale(lang))


def freshness(ts, lang: str, tz, now=None) -> str:
    """When the data was last updated, as in "as of 14:05, 2 h ago": the time alone when ``ts``
    is today in ``tz``, else date and time."""
    if _missing(ts):
        return t("freshness.never", lang)
    local = _local(ts, tz)
    today = _now_utc(now).astimezone(_zone(tz)).date()
    when = fmt_time(ts, lang, tz) if local.date() == today else fmt_datetime(ts, lang, tz)
    return t("freshness", lang, time=when, ago=fmt_ago(ts, lang, now))


# --- weeks ------------------------------------------------------------------------------------

def partial_label(days_covered: int, lang: str) -> str:
    """The note on a week with fewer than 7 days: partial (3/7 days) / 不完整（3/7天）."""
    return t("week.partial", lang, days=int(days_covered))


def week_label(week: str, days_covered: int | None, lang: str) -> str:
    """An ISO week ("2025-W01") as "2025-W01" / "2025年第1周" (the ISO year, like the label),
    followed by the partial label when fewer than 7 days are covered."""
    from .weeks import week_start  # the one reading of an ISO week label

    year, num, _ = week_start(week).isocalendar()  # ValueError for a label, or a week, that is not one
    label = t("week.label", lang, year=year, week=num)
    if days_covered is None or _missing(days_covered) or int(days_covered) >= 7:
        return label
    return t("week.with_partial", lang, week=label, partial=partial_label(days_covered, lang))


__all__ = [
    "LANGS", "DEFAULT_LANG", "MISSING", "STRINGS", "PLATFORM_NAMES", "PLATFORM_BRAND_NAMES_ZH", "CATEGORY_NAMES",
    "METRIC_NAMES", "METRIC_HELP", "NUMBER_KINDS", "normalise_lang", "t", "platform_name", "platform_from_label",
    "category_name", "metric_name", "metric_help", "column_name", "template", "fmt_number", "fmt_range", "fmt_date",
    "fmt_time", "fmt_datetime", "fmt_ago", "freshness", "partial_label", "week_label",
]
