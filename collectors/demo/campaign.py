"""The demo campaign: a realistic six-week campaign written as each platform's native export files.

``write_demo(folder)`` invents the 2024 Belt and Road "Jin" Hub Online International Communication
Campaign (launch ceremony 22 Dec 2024 in Yiwu, Jinhua; six weeks, Mon 16 Dec 2024 to Sun 26 Jan
2025, Asia/Shanghai) as about 40 fictional influencers with 1-5 accounts each on X, Facebook,
Instagram, YouTube, TikTok and LinkedIn, lets their posts collect views along decaying curves, and
then "downloads" the exports a communications team would have downloaded during the campaign: X
Content/Overview files (and legacy Tweet activity files for a few accounts), Meta Business Suite
post exports holding several pages, Meta page-level UTF-16 charts, YouTube Studio ZIPs, TikTok
post exports and Overview ZIPs, and LinkedIn Page content workbooks. A dozen accounts of the same
people on the Chinese platforms add their files: weibo-crawler CSVs named by user id, Douyin
作品数据 workbooks with counts in 万 (one account's saved by Excel as a GB18030 CSV), Bilibili video
statistics CSVs in the API's and in Chinese headers, and WeChat 已通知内容 / 未开启通知内容 article
downloads (totals frozen 7 days after publishing, so the late downloads repeat them) and 流量分析
traffic by channel. The bytes copy the real formats (encodings, BOMs, quoting, line ends, headers,
date formats; see shared EXPORTS.md).

The data model is small: ``Influencer`` -> ``Account`` -> ``Post``; a post's lifetime count of a
metric at time ``t`` is ``final * curve(t - published)`` (most of it in the first two or three
days), so every export is a snapshot of the same underlying truth. Account-level daily exports
are differences of those curves plus a little traffic from older posts.

Real-life events the data carries on purpose (tests find them in the files): a missed export day
(X account ``YiwuTradeWin`` has no export on 25 Dec, Christmas), platform corrections (a later
snapshot of a post lower than an earlier one: invalid X impressions and Facebook views removed),
the same export downloaded twice (identical bytes, the second named ``... (1).csv``), and the
launch-day spike on 22 Dec. Five anomalies are planted on five influencers (``plant_anomalies``:
bought views, a viral post, a stalled account, a deleted post, a follower jump) and written to
``anomalies-truth.json`` beside the exports, so the detector can be scored against the truth
(docs/anomalies.md). Everything comes from ``random.Random(seed)``: the same seed writes
byte-identical files (ZIP entries carry fixed timestamps, workbook properties fixed dates).
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
import random
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from collectors.model import DEFAULT_TIMEZONE
from collectors.platforms.weibo import bid_from_mid

TZ = ZoneInfo(DEFAULT_TIMEZONE)
START = date(2024, 12, 16)  # Monday, first campaign day
END = date(2025, 1, 26)  # Sunday, last campaign day
LAUNCH = date(2024, 12, 22)  # launch ceremony in Yiwu
FINAL_EXPORT = date(2025, 1, 27)  # everyone downloads once more the day after the campaign
DAYS = [START + timedelta(days=i) for i in range((END - START).days + 1)]

CHINESE_PLATFORMS = ("weibo", "douyin", "bilibili", "wechat")
PLATFORMS = ("x", "facebook", "instagram", "youtube", "tiktok", "linkedin", *CHINESE_PLATFORMS)

# --- the cast ----------------------------------------------------------------------------------
# Invented names only (no real person): (name, category, [(platform, handle, display name)]).
# Display names default to the influencer's name; YouTube handles carry the channel name.
INFLUENCERS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Jin Hub Campaign Office 金枢传播办公室", "official",
     [("x", "JinHubOffice"), ("facebook", "jinhubcampaign"), ("linkedin", "jin-hub-campaign-office")]),
    ("Yiwu Trade Window 义乌商贸之窗", "official",
     [("x", "YiwuTradeWin"), ("facebook", "yiwutradewindow"), ("instagram", "yiwu.tradewindow")]),
    ("Zhou Minghui 周明辉", "official", [("x", "ZhouMinghui_YW"), ("linkedin", "zhou-minghui-yw")]),
    ("Lou Yating 楼雅婷", "official", [("facebook", "louyating.jinhua")]),
    ("Jinhua Open Gateway 金华开放门户", "official",
     [("youtube", "JinhuaOpenGateway"), ("facebook", "jinhuaopengateway")]),
    ("Chen Xiaofang 陈晓芳", "merchant", [("tiktok", "xiaofang.scarves"), ("instagram", "xiaofang_scarves")]),
    ("Wu Jianguo 吴建国", "merchant", [("facebook", "wujianguo.hardware"), ("tiktok", "wu.hardware.yiwu")]),
    ("Ahmed Al-Qasimi", "merchant", [("facebook", "alqasimi.trading"), ("instagram", "alqasimi_yiwu")]),
    ("Fang Lihua 方丽华", "merchant", [("tiktok", "lihua.toys.district2")]),
    ("Hu Zhenyu 胡振宇", "merchant", [("linkedin", "hu-zhenyu-sourcing")]),
    ("Ye Qiaoling 叶巧玲", "merchant", [("instagram", "qiaoling.crafts"), ("tiktok", "qiaoling.crafts")]),
    ("Ruslan Bekmatov", "merchant", [("x", "RuslanTradesYW")]),
    ("Jiang Haoran 蒋浩然", "entrepreneur",
     [("linkedin", "jiang-haoran-ecom"), ("x", "HaoranBuilds"), ("youtube", "HaoranCrossBorder")]),
    ("Sun Meiqi 孙美琪", "entrepreneur",
     [("instagram", "meiqi.makes")]),
    ("Ivan Petrushenko", "entrepreneur", [("linkedin", "ivan-petrushenko-logistics"), ("facebook", "petrushenko.logistics")]),
    ("Luo Jiawen 罗佳文", "entrepreneur", [("instagram", "jiawen.studio")]),
    ("Amara Okonkwo-Lian", "entrepreneur", [("linkedin", "amara-okonkwo-lian")]),
    ("Gao Yuchen 高宇辰", "entrepreneur", [("tiktok", "yuchen.livecommerce")]),
    ("Karim Benhadji", "foreign resident",
     [("youtube", "KarimInYiwu"), ("instagram", "karim.in.yiwu"), ("facebook", "kariminyiwu")]),
    ("Sofia Marenkova", "foreign resident", [("instagram", "sofia.eastbound"), ("tiktok", "sofia.eastbound")]),
    ("Diego Albarracín Soto", "foreign resident", [("x", "DiegoEnYiwu")]),
    ("Meera Raghavachari", "foreign resident", [("facebook", "meera.jinhua.diaries"), ("instagram", "meera.jinhua")]),
    ("Tomasz Wielgórski", "foreign resident", [("youtube", "TomaszWanders"), ("x", "TomaszWanders")]),
    ("Fatou Diallo-Sène", "foreign resident", [("tiktok", "fatou.in.zhejiang")]),
    ("Lukas Brennecke", "foreign resident", [("instagram", "lukas.brennecke.cn")]),
    ("Xu Qingyan 徐清妍", "journalist", [("x", "XuQingyan_News"), ("linkedin", "xu-qingyan")]),
    ("Helena Raskova", "journalist", [("x", "HelenaRaskova")]),
    ("Wang Zhiyuan 王志远", "journalist", [("x", "WangZhiyuanCN"), ("facebook", "wangzhiyuan.reports")]),
    ("Nadia Farouki", "journalist", [("x", "NadiaFarouki")]),
    ("Pan Yifei 潘一飞", "journalist", [("youtube", "PanYifeiReports"), ("x", "PanYifei")]),
    ("Owen Castellanos-Reid", "journalist", [("x", "OwenCReid"), ("linkedin", "owen-castellanos-reid")]),
    ("Zhejiang Silk Road Review", "media",
     [("x", "ZJSilkRoadRev"), ("facebook", "zjsilkroadreview"), ("youtube", "ZJSilkRoadReview")]),
    ("Yiwu Market Daily 义乌市场日报", "media",
     [("facebook", "yiwumarketdaily"), ("instagram", "yiwumarketdaily"), ("x", "YiwuMarketDaily")]),
    ("Belt & Road Bytes", "media", [("youtube", "BeltRoadBytes"), ("tiktok", "beltroadbytes"), ("x", "BeltRoadBytes")]),
    ("Jinhua Evening Wire", "media", [("facebook", "jinhuaeveningwire"), ("linkedin", "jinhua-evening-wire")]),
    ("Global Bazaar TV", "media", [("youtube", "GlobalBazaarTV"), ("instagram", "globalbazaar.tv")]),
    ("Maya Lindqvarn", "international influencer",
     [("instagram", "maya.lindqvarn"), ("tiktok", "mayalindqvarn")]),
    ("Javier Quinteros Ruano", "international influencer", [("tiktok", "javi.quinteros")]),
    ("Chloé Marchesini", "international influencer", [("instagram", "chloe.marchesini")]),
    ("Kofi Asantewaa-Boadu", "international influencer", [("tiktok", "kofi.goes.east")]),
]
# Accounts on the Chinese platforms, held by people of the cast above: (influencer, platform, handle).
# They are drawn after everyone else from a generator of their own, so adding them left every
# other account's numbers as they were. Weibo handles are screen names; Bilibili's are UP names.
CHINESE_ACCOUNTS: list[tuple[str, str, str]] = [
    ("Jin Hub Campaign Office 金枢传播办公室", "wechat", "jinhub_office"),
    ("Yiwu Trade Window 义乌商贸之窗", "wechat", "yiwu_tradewindow"),
    ("Yiwu Market Daily 义乌市场日报", "wechat", "ywmarketdaily"),
    ("Jin Hub Campaign Office 金枢传播办公室", "weibo", "金枢传播办公室"),
    ("Yiwu Market Daily 义乌市场日报", "weibo", "义乌市场日报"),
    ("Xu Qingyan 徐清妍", "weibo", "徐清妍看世界"),
    ("Chen Xiaofang 陈晓芳", "douyin", "xiaofang_weijin"),
    ("Fang Lihua 方丽华", "douyin", "lihua_wanju"),
    ("Gao Yuchen 高宇辰", "douyin", "yuchen_zhibo"),
    ("Jiang Haoran 蒋浩然", "bilibili", "浩然跨境"),
    ("Karim Benhadji", "bilibili", "卡里姆在义乌"),
    ("Belt & Road Bytes", "bilibili", "BeltRoadBytes"),
]
WECHAT_UNNOTIFIED = ("ywmarketdaily",)  # pushes nothing to followers: the 未开启通知内容 download
DOUYIN_GB18030 = ("lihua_wanju",)  # opens the export in Excel and saves it as CSV (GB18030)
DOUYIN_SECOND_ORDER = ("yuchen_zhibo",)  # the column order with 审核状态 and 封面点击率
BILIBILI_CHINESE = ("卡里姆在义乌",)  # a script that writes Chinese headers and no uploader id
# X accounts that still send the legacy analytics.twitter.com "Tweet activity" files.
X_LEGACY = ("ZhouMinghui_YW", "HelenaRaskova", "WangZhiyuanCN")
# Export units downloaded (nearly) every day around the launch.
ACTIVE = {("x", "JinHubOffice"), ("x", "YiwuTradeWin"), ("facebook", "official"), ("tiktok", "beltroadbytes")}
MISSED = (("x", "YiwuTradeWin"), date(2024, 12, 25))  # nobody exported on Christmas Day
# Meta Business portfolios: one post export holds every page/account of the portfolio.
META_PORTFOLIOS = {
    "official": ("official",),
    "media": ("media", "journalist"),
    "partners": ("merchant", "entrepreneur", "foreign resident", "international influencer"),
}
META_SOLO = {("facebook", "kariminyiwu"), ("instagram", "maya.lindqvarn")}

# Typical views (impressions for X/LinkedIn) of one post, and engagement shape, per platform.
PLATFORM_SIZE = {"x": 1500, "facebook": 2500, "instagram": 4000, "youtube": 2500, "tiktok": 7000, "linkedin": 1100,
                 "weibo": 1800, "douyin": 9000, "bilibili": 3500, "wechat": 1400}
CATEGORY_SIZE = {"official": 1.6, "merchant": 0.6, "entrepreneur": 0.8, "foreign resident": 1.0,
                 "journalist": 1.4, "media": 3.0, "international influencer": 4.0}
POSTS_PER_DAY = {"x": 0.75, "facebook": 0.45, "instagram": 0.42, "youtube": 0.14, "tiktok": 0.5, "linkedin": 0.28,
                 "weibo": 0.8, "douyin": 0.45, "bilibili": 0.15, "wechat": 0.5}
LIKE_RATE = {"x": 0.015, "facebook": 0.02, "instagram": 0.045, "youtube": 0.035, "tiktok": 0.06, "linkedin": 0.02,
             "weibo": 0.02, "douyin": 0.05, "bilibili": 0.06, "wechat": 0.015}
TAU_HOURS = {"x": 7, "facebook": 14, "instagram": 15, "youtube": 34, "tiktok": 20, "linkedin": 18,
             "weibo": 6, "douyin": 18, "bilibili": 30, "wechat": 16}
LAUNCH_RATE = {date(2024, 12, 20): 1.3, date(2024, 12, 21): 1.6, LAUNCH: 4.0,
               date(2024, 12, 23): 1.4, date(2024, 12, 24): 1.2}
LAUNCH_SIZE = {date(2024, 12, 21): 1.4, LAUNCH: 5.0, date(2024, 12, 23): 1.3}

TEXTS_EN = [
    "Countdown: {n} days to the Jin Hub online campaign launch in Yiwu! #JinHub #BeltAndRoad",
    "Walking District {d} of Yiwu International Trade City this morning: {goods} everywhere. #Yiwu",
    "Live from the launch ceremony of the Belt and Road \"Jin\" Hub campaign in Yiwu #JinHub",
    "Why the Yiwu-Xinjiang-Europe rail freight matters for small traders like us. Thread below",
    "{goods} from Yiwu to {city} in 18 days by China-Europe Railway Express. Here's how it works",
    "Behind the scenes at a Yiwu {goods} workshop, Jinhua, Zhejiang. #BeltAndRoad #MadeInYiwu",
    "Q&A with buyers from {city} at the Yiwu market. What they are looking for in 2025",
    "The Jin Hub campaign brings {city} and Yiwu closer: recap of today's sessions",
    "Night market in Jinhua after the launch. Good food, better company. #JinHub",
    "New Year shopping rush at Yiwu market: {goods} flying off the shelves #Yiwu #2025",
    "Five things I learned living in Yiwu as a foreigner (and why I stay)",
    "Cross-border e-commerce workshop at the Jin Hub: notes for sellers shipping to {city}",
    "Belt and Road trade numbers, explained in one minute. #BeltAndRoad",
    "Our stall's best seller this week: {goods}. Wholesale orders welcome from {city}!",
]
TEXTS_ZH = [
    "“一带一路”金枢国际传播活动今天在义乌正式启动！#金枢 #义乌",
    "义乌国际商贸城{d}区探店：{goods_zh}卖到全世界 #义乌小商品",
    "从义乌到{city_zh}，中欧班列十八天直达。#一带一路",
    "金华夜市走一走，感受开放的浙江 #金枢传播",
    "新年前的义乌市场人气爆棚，外商采购忙 #义乌",
]
GOODS = ["Christmas decorations", "scarves", "toys", "hardware tools", "LED lights", "stationery",
         "artificial flowers", "sports gear", "kitchenware", "jewelry"]
GOODS_ZH = ["圣诞饰品", "围巾", "玩具", "五金工具", "灯具", "文具", "仿真花", "饰品"]
CITIES = ["Madrid", "Duisburg", "Dubai", "Almaty", "Lagos", "Warsaw", "Tashkent", "São Paulo", "Riyadh", "Milan"]
CITIES_ZH = ["马德里", "杜伊斯堡", "华沙", "阿拉木图", "迪拜"]
# Titles and captions on the Chinese platforms (WeChat article titles, Douyin work names).
TEXTS_CN = TEXTS_ZH + [
    "金枢观察｜{city_zh}客商眼中的义乌：{goods_zh}为什么卖得好",
    "一图读懂“一带一路”金枢国际传播活动",
    "探访义乌国际商贸城{d}区，{goods_zh}档口的一天 #义乌 #探店",
    "中欧班列开到{city_zh}，义乌小商品走向世界 #一带一路",
    "外国博主在义乌：住在金华的第{d}年 #金枢传播",
    "直播回放｜启动仪式现场，听{city_zh}客商说义乌",
]


# --- data model -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoAccount:
    """What a file that does not name its account in its rows belongs to."""

    platform: str
    handle: str
    account_id: str
    name: str  # page / channel / display name


@dataclass
class DemoFiles:
    files: list[Path]  # every export, in import order (chronological by export time)
    roster: Path
    as_of: dict[Path, datetime]  # export moment of every file (aware, Asia/Shanghai)
    accounts: dict[Path, DemoAccount]  # files whose rows do not say whose they are
    truth: Path | None = None  # the planted anomalies (TRUTH_FILE)


@dataclass
class Post:
    post_id: str
    published: datetime  # aware, Asia/Shanghai
    text: str
    kind: str  # photo / video / reel / text / carousel
    final: dict[str, float]  # metric -> lifetime total it tends to
    tau: float  # hours
    duration: int = 0  # seconds, for videos
    url: str = ""
    correction: tuple[datetime, float] | None = None  # from then on, views/impressions x factor
    # Planted anomalies (``plant_anomalies``): views bought (start, end, metric, extra: added evenly
    # between start and end, nothing else grows with them); stretches when the account stalled
    # (the post's clock stops); the moment the post was deleted (its lifetime counts read 0 after).
    boosts: list[tuple[datetime, datetime, str, int]] = field(default_factory=list)
    pauses: list[tuple[datetime, datetime]] = field(default_factory=list)
    deleted: datetime | None = None

    def frac(self, t: datetime) -> float:
        h = (t - self.published).total_seconds() / 3600
        for a, b in self.pauses:
            h -= max(0.0, (min(t, b) - max(a, self.published)).total_seconds() / 3600)
        if h <= 0:
            return 0.0
        return 0.9 * (1 - math.exp(-h / self.tau)) + 0.1 * (1 - math.exp(-h / (10 * self.tau)))

    def at(self, t: datetime, corrected: bool = True) -> dict[str, int]:
        """Lifetime counts as an export at ``t`` shows them. ``corrected=False``: the activity as
        it happened (what account-level daily exports add up), before corrections and deletion."""
        if self.deleted is not None and t >= self.deleted:
            if corrected:  # a deleted post is listed with nothing left
                return {m: (0.0 if m == "watch_h" else 0) for m in self.final}
            t = self.deleted  # and gets no more activity
        f = self.frac(t)
        out = {m: (v * f if m == "watch_h" else int(v * f)) for m, v in self.final.items()}
        for a, b, metric, extra in self.boosts:
            if metric in out and t > a:
                out[metric] += int(extra * min(1.0, (t - a) / (b - a)))
        if corrected and self.correction and t >= self.correction[0]:
            for m in ("views", "impressions", "reach"):
                if m in out:
                    out[m] = int(out[m] * self.correction[1])
        return out


@dataclass
class Account:
    platform: str
    handle: str
    account_id: str
    name: str
    influencer: str
    category: str
    size: float
    followers: int
    posts: list[Post] = field(default_factory=list)
    background: float = 0.0  # daily views from posts older than the campaign
    stalled: tuple[date, date] | None = None  # planted: first and last day with no activity at all
    extra_follows: dict[date, int] = field(default_factory=dict)  # planted: followers bought that day
    planted: list["Planted"] = field(default_factory=list)

    def demo(self) -> DemoAccount:
        return DemoAccount(self.platform, self.handle, self.account_id, self.name)

    def posts_until(self, t: datetime) -> list[Post]:
        return [p for p in self.posts if p.published < t]

    def day(self, d: date, upto: datetime, rng_key: int = 0) -> dict[str, int]:
        """Account-level activity on local day ``d`` as known at ``upto`` (all posts + background)."""
        a = datetime.combine(d, time(), TZ)
        b = min(a + timedelta(days=1), upto)
        tot: dict[str, int] = {}
        if b > a:
            for p in self.posts:
                if p.published >= b:
                    continue
                hi, lo = p.at(b, corrected=False), p.at(a, corrected=False)
                for m in hi:
                    tot[m] = tot.get(m, 0) + hi[m] - lo[m]
            # Older posts keep a trickle of views; a hash of the day keeps it deterministic.
            share = (b - a).total_seconds() / 86400
            if self.stalled and self.stalled[0] <= d <= self.stalled[1]:
                share = 0.0
            wobble = 0.75 + 0.5 * ((d.toordinal() * 7919 + rng_key) % 97) / 97
            bg = int(self.background * share * wobble)
            tot["background"] = bg
            for m, rate in (("likes", 0.008), ("comments", 0.0008), ("shares", 0.0015)):
                tot[m] = tot.get(m, 0) + int(bg * rate)
        return tot


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _digits(rng: random.Random, n: int, first: str = "123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _text(rng: random.Random, d: date, platform: str) -> str:
    if rng.random() < 0.22:
        t = rng.choice(TEXTS_ZH)
    else:
        t = rng.choice(TEXTS_EN)
    n = max(1, (LAUNCH - d).days)
    t = t.format(n=n, d=rng.randint(1, 5), goods=rng.choice(GOODS), city=rng.choice(CITIES),
                 goods_zh=rng.choice(GOODS_ZH), city_zh=rng.choice(CITIES_ZH))
    t = t[0].upper() + t[1:]
    if d < LAUNCH and "launch ceremony" in t:
        t = t.replace("Live from the launch ceremony of", "Getting ready for")
    elif d > LAUNCH and "launch ceremony" in t:
        t = t.replace("Live from the launch ceremony", "Highlights from the launch ceremony")
    if platform in ("facebook", "linkedin") and rng.random() < 0.3:
        t += "\n\nFull story and photos: yiwu-jinhub.example/news"
    return t


def _text_cn(rng: random.Random, d: date) -> str:
    t = rng.choice(TEXTS_CN).format(d=rng.randint(1, 5), goods_zh=rng.choice(GOODS_ZH), city_zh=rng.choice(CITIES_ZH))
    return t.replace("今天在义乌正式启动", "即将在义乌启动") if d < LAUNCH else t


def _account_ids(rng: random.Random, platform: str, handle: str) -> tuple[str, str]:
    """(account id, display name)"""
    if platform == "x":
        return _digits(rng, rng.choice([10, 18, 19])), handle
    if platform == "facebook":
        return "1000" + _digits(rng, 11, "0123456789"), handle
    if platform == "instagram":
        return "178414" + _digits(rng, 11, "0123456789"), handle
    if platform == "youtube":
        name = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", handle)
        return "UC" + "".join(rng.choice(_B64) for _ in range(22)), name
    if platform == "tiktok":
        return _digits(rng, 19, "67"), handle
    if platform == "weibo":
        return _digits(rng, 10, "57"), handle  # uid; the crawler names its CSV after it
    if platform == "douyin":
        return _digits(rng, 11, "123456789"), handle
    if platform == "bilibili":
        return _digits(rng, 9, "123456789"), handle  # mid
    if platform == "wechat":
        return "gh_" + "".join(rng.choice("0123456789abcdef") for _ in range(12)), handle
    return _digits(rng, 8), handle.replace("-", " ").title()


def _make_post(rng: random.Random, acc: Account, published: datetime) -> Post:
    pf, d = acc.platform, published.date()
    views = acc.size * rng.lognormvariate(0, 0.6) * LAUNCH_SIZE.get(d, 1.0)
    like = LIKE_RATE[pf] * rng.uniform(0.5, 1.6)
    likes = views * like
    final = {"likes": likes, "comments": likes * rng.uniform(0.04, 0.14), "shares": likes * rng.uniform(0.08, 0.25)}
    ms = int(published.timestamp() * 1000)
    kind, duration = "text", 0
    if pf == "x":
        pid = str(((ms - 1288834974657) << 22) | rng.getrandbits(22))
        url = f"https://x.com/{acc.handle}/status/{pid}"
        final.update(impressions=views, saves=likes * 0.1, clicks=views * rng.uniform(0.002, 0.01),
                     profile=views * 0.004, detail=views * 0.012, hashtag=views * 0.001,
                     permalink=views * 0.0005, follows=views * 0.0006, media=views * rng.choice([0, 0, 0.05]))
    elif pf == "facebook":
        pid = _digits(rng, 16, "1")
        kind = rng.choice(["photo", "photo", "video", "link"])
        duration = rng.randint(12, 95) if kind == "video" else 0
        url = (f"https://www.facebook.com/reel/{_digits(rng, 16, '1')}/" if kind == "video" else
               f"https://www.facebook.com/{acc.handle}/posts/pfbid0"
               + "".join(rng.choice("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") for _ in range(50)))
        final.update(views=views, reach=views * rng.uniform(0.65, 0.92), clicks=views * rng.uniform(0.005, 0.02))
    elif pf == "instagram":
        pid = rng.choice(["17", "18"]) + _digits(rng, 16, "0123456789")
        kind = rng.choice(["reel", "reel", "carousel", "image"])
        duration = rng.randint(8, 60) if kind == "reel" else 0
        code = "D" + rng.choice("DE") + "".join(rng.choice(_B64) for _ in range(9))
        url = f"https://www.instagram.com/{'reel' if kind == 'reel' else 'p'}/{code}/"
        final.update(views=views, reach=views * rng.uniform(0.6, 0.85), saves=likes * 0.15, follows=views * 0.0008)
    elif pf == "youtube":
        kind = "video"
        pid = "".join(rng.choice(_B64) for _ in range(10)) + rng.choice("AEIMQUYcgkosw048")
        duration = rng.choice([rng.randint(20, 59), rng.randint(180, 900)])
        avg = min(duration, 40) * 0.7 if duration < 60 else duration * rng.uniform(0.25, 0.45)
        ctr = rng.uniform(3.5, 9.5)
        final.update(views=views, watch_h=views * avg / 3600, subs=views * rng.uniform(0.001, 0.006),
                     impressions=views * 0.6 * 100 / ctr)
        url = f"https://www.youtube.com/watch?v={pid}"
    elif pf == "tiktok":
        kind = "video"
        pid = str((int(published.timestamp()) << 32) | rng.getrandbits(32))
        duration = rng.randint(9, 75)
        url = f"https://www.tiktok.com/@{acc.handle}/video/{pid}"
        final.update(views=views, profile=views * 0.01)
    elif pf == "weibo":
        # Post numbers grow with time (about 5.11e15 in December 2024); the link carries its code.
        pid = str(5_100_000_000_000_000 + (int(published.timestamp()) - 1_733_000_000) * 40_000 + rng.randrange(40_000))
        kind = "repost" if rng.random() < 0.15 else "original"
        url = f"https://weibo.com/{acc.account_id}/{bid_from_mid(pid)}"
    elif pf == "douyin":
        pid = "74" + _digits(rng, 17, "0123456789")  # the app's id: not in the export
        url = f"https://www.douyin.com/video/{pid}"
        kind = rng.choice(["1-3min视频", "短视频", "短视频", "图文"])
        duration = rng.randint(15, 170) if kind != "图文" else 0
        final.update(views=views, saves=likes * rng.uniform(0.1, 0.3), follows=views * rng.uniform(0.0005, 0.002),
                     profile=views * 0.01)
    elif pf == "bilibili":
        pid = "BV1" + "".join(rng.choice("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") for _ in range(9))
        kind = "video"
        duration = rng.randint(120, 900)
        url = f"https://www.bilibili.com/video/{pid}"
        final.update(views=views, saves=likes * rng.uniform(0.2, 0.5), coins=likes * rng.uniform(0.2, 0.6),
                     danmaku=views * rng.uniform(0.003, 0.02))
    elif pf == "wechat":
        pid, url = "", ""  # __biz_mid_idx and the link: given when the day's articles are pushed (_push_wechat)
        kind = "article"
        final.update(views=views, reach=views * rng.uniform(0.66, 0.8), shares=views * rng.uniform(0.03, 0.06),
                     follows=views * rng.uniform(0.002, 0.01))
    else:  # linkedin
        pid = str((ms << 22) | rng.getrandbits(22))
        kind = rng.choice(["Text", "Image", "Image", "Video", "Article"])
        url = f"https://www.linkedin.com/feed/update/urn:li:activity:{pid}"
        final.update(impressions=views, clicks=views * rng.uniform(0.01, 0.04), follows=views * 0.002,
                     video=views * 0.4 if kind == "Video" else 0)
    text = _text_cn(rng, d) if pf in CHINESE_PLATFORMS else _text(rng, d, pf)
    if pf == "youtube":
        text = text.split("\n")[0].split(" #")[0][:90]
    tau = TAU_HOURS[pf] * rng.uniform(0.7, 1.3)
    if d == LAUNCH:
        tau *= 0.5  # the ceremony is watched live and the news cycle moves on the next day
    return Post(pid, published, text, kind, final, tau, duration, url)


def build_campaign(seed: int = 2024) -> list[Account]:
    """Influencers -> accounts -> posts, all drawn from one seeded generator."""
    rng = random.Random(seed)
    accounts: list[Account] = []
    for name, category, accs in INFLUENCERS:
        for platform, handle in accs:
            accounts.append(_new_account(rng, name, category, platform, handle))
    categories = {name: category for name, category, _ in INFLUENCERS}
    rng_cn = random.Random(seed * 31 + 5)
    for name, platform, handle in CHINESE_ACCOUNTS:
        acc = _new_account(rng_cn, name, categories[name], platform, handle)
        if platform == "wechat":
            _push_wechat(rng_cn, acc)
        accounts.append(acc)
    _plant_corrections(accounts)
    plant_anomalies(accounts, seed)
    return accounts


def _new_account(rng: random.Random, name: str, category: str, platform: str, handle: str) -> Account:
    aid, disp = _account_ids(rng, platform, handle)
    if platform in ("facebook", "instagram"):
        disp = name  # Page name / account name as people see it
    elif platform == "linkedin":
        disp = re.sub(r"\s*[\u4e00-\u9fff]+$", "", name)
    elif platform in ("douyin", "wechat"):
        disp = (re.findall(r"[\u4e00-\u9fff]+", name) or [name])[-1]
    size = PLATFORM_SIZE[platform] * CATEGORY_SIZE[category] * rng.lognormvariate(0, 0.45)
    acc = Account(platform, handle, aid, disp, name, category, size,
                  followers=int(size * rng.uniform(3, 12)), background=size * rng.uniform(0.15, 0.5))
    rate = POSTS_PER_DAY[platform] * (1.4 if category in ("media", "official") else 1.0)
    for d in DAYS:
        n = _poisson(rng, rate * LAUNCH_RATE.get(d, 1.0))
        if d == LAUNCH:
            n = max(n, 1)  # every partner was asked to post about the ceremony
        for _ in range(n):
            if d == LAUNCH and rng.random() < 0.7:
                minute = rng.randint(9 * 60, 12 * 60)  # the ceremony is in the morning
            else:
                minute = rng.randint(7 * 60, 20 * 60 + 30)
            pub = datetime.combine(d, time(minute // 60, minute % 60), TZ)
            acc.posts.append(_make_post(rng, acc, pub))
    acc.posts.sort(key=lambda p: (p.published, p.post_id))
    return acc


def _push_wechat(rng: random.Random, acc: Account) -> None:
    """An Official Account pushes a day's articles together: one push (mid), articles idx 1, 2, …"""
    biz = base64.b64encode(_digits(rng, 10, "123").encode()).decode()
    mid = 2_247_483_648 + rng.randint(200, 900)  # push numbers start at 2^31 for every account
    by_day: dict[date, list[Post]] = {}
    for p in acc.posts:
        by_day.setdefault(p.published.date(), []).append(p)
    for day_posts in by_day.values():
        mid += 1
        for idx, p in enumerate(day_posts, 1):
            p.published = day_posts[0].published
            sn = "".join(rng.choice("0123456789abcdef") for _ in range(32))
            p.post_id = f"{biz}_{mid}_{idx}"
            p.url = f"http://mp.weixin.qq.com/s?__biz={biz}&mid={mid}&idx={idx}&sn={sn}&chksm=0#rd"


def _plant_corrections(accounts: list[Account]) -> None:
    """Platforms remove invalid traffic days later: the lifetime count goes down."""
    for platform, handle, day, when, factor in (
        ("x", "JinHubOffice", date(2024, 12, 22), datetime(2024, 12, 24, 15, 0, tzinfo=TZ), 0.86),
        ("facebook", "jinhubcampaign", date(2024, 12, 22), datetime(2024, 12, 27, 9, 0, tzinfo=TZ), 0.9),
    ):
        acc = next(a for a in accounts if (a.platform, a.handle) == (platform, handle))
        post = next((p for p in acc.posts if p.published.date() == day), None)
        if post is None:  # a seed with no post that day: give it one
            post = _make_post(random.Random(day.toordinal()), acc, datetime.combine(day, time(10, 5), TZ))
            acc.posts.append(post)
            acc.posts.sort(key=lambda p: (p.published, p.post_id))
        post.correction = (when, factor)
    # A video id that starts with "-": Studio writes it with a leading space in Table data.
    yt = next(a for a in accounts if (a.platform, a.handle) == ("youtube", "GlobalBazaarTV"))
    if yt.posts:
        p = yt.posts[0]
        p.post_id = "-" + p.post_id[1:]
        p.url = f"https://www.youtube.com/watch?v={p.post_id}"


# --- planted anomalies ------------------------------------------------------------------------
# Known events on a few influencers, so the anomaly detector can be scored against the truth
# (tests/test_anomaly_truth.py, docs/anomalies.md). They are drawn from a generator of their own, so
# every other account's numbers stay as they were, and each kind is planted where the exports can
# show it by day: a follower jump on X (its Overview files count new follows per day), bought
# views and a stalled account on platforms whose account-level exports give views and engagements
# per day (TikTok Overview, X Overview), a viral post and a deleted post on any platform whose
# post exports count views. Day-level events stay a day away from the campaign's own event days
# (campaign.toml), when the campaign itself makes numbers jump.

TRUTH_FILE = "anomalies-truth.json"
KINDS = ("bought_views", "viral_post", "stalled_account", "deleted_post", "follower_jump")
CAMPAIGN_EVENTS = (LAUNCH, date(2025, 1, 1), date(2025, 1, 18))  # as campaign.toml lists them


@dataclass
class Planted:
    """One planted event: what the truth file says about it."""

    kind: str
    influencer: str
    platform: str
    account: str  # the handle
    days: tuple[date, ...]  # the local days it happened on
    post_id: str | None = None
    detail: dict = field(default_factory=dict)
    seen: date | None = None  # deleted_post: the day of the first export that shows it

    def as_json(self) -> dict:
        out = {"kind": self.kind, "influencer": self.influencer, "platform": self.platform, "account": self.account,
               "post_id": self.post_id, "days": [d.isoformat() for d in self.days]}
        if self.seen is not None:
            out["seen"] = self.seen.isoformat()
        return out | {"detail": self.detail}


def _quiet(d: date) -> bool:
    """A day at least two days from every campaign event day."""
    return all(abs((d - e).days) > 1 for e in CAMPAIGN_EVENTS)


def _local_days(a: datetime, b: datetime) -> tuple[date, ...]:
    """The local days the stretch [a, b) touches."""
    last = (b - timedelta(microseconds=1)).date()
    return tuple(_days(a.date(), last))


def _basis_metric(p: Post) -> str:
    return "views" if "views" in p.final else "impressions"


def plant_anomalies(accounts: list[Account], seed: int) -> list[Planted]:
    """Plant one event of each kind (KINDS), each on an influencer of its own, and record it in
    the account's ``planted`` list."""
    rng = random.Random(seed * 101 + 13)
    used: set[str] = set()
    quiet = [d for d in DAYS if _quiet(d)]
    out: list[Planted] = []

    def pick(ok) -> Account:
        cands = [a for a in accounts if a.influencer not in used and ok(a)]
        acc = rng.choice(cands)
        used.add(acc.influencer)
        return acc

    def record(acc: Account, kind: str, days, post: Post | None = None, **detail) -> None:
        ev = Planted(kind, acc.influencer, acc.platform, acc.handle, tuple(days),
                     post.post_id if post else None, detail)
        acc.planted.append(ev)
        out.append(ev)

    # A stalled account: no post, no view, no like for four to seven days (a suspension, or a
    # shadow ban), then back as before.
    acc = pick(lambda a: a.platform in ("x", "tiktok", "youtube", "linkedin"))
    first = rng.choice([d for d in quiet if date(2024, 12, 27) <= d <= date(2025, 1, 15)])
    last = first + timedelta(days=rng.randint(4, 7) - 1)
    a0 = datetime.combine(first, time(), TZ)
    b0 = datetime.combine(last + timedelta(days=1), time(), TZ)
    acc.posts = [p for p in acc.posts if not a0 <= p.published < b0]
    for p in acc.posts:
        p.pauses.append((a0, b0))
    acc.stalled = (first, last)
    record(acc, "stalled_account", _days(first, last))

    # Bought views: one older post of a TikTok or X account gets 15-30 times the account's usual
    # day of views within hours, and not one like, comment or share more.
    acc = pick(lambda a: a.platform in ("x", "tiktok") and len(a.posts) >= 8)
    day = rng.choice([d for d in quiet if d >= START + timedelta(days=7)
                      and any(p.published.date() <= d - timedelta(days=2) for p in acc.posts)])
    post = rng.choice([p for p in acc.posts if p.published.date() <= day - timedelta(days=2)])
    start = datetime.combine(day, time(rng.randint(6, 15)), TZ)
    end = start + timedelta(hours=rng.randint(6, 12))
    metric = _basis_metric(post)
    extra = int(acc.size * rng.uniform(15, 30))
    post.boosts.append((start, end, metric, extra))
    record(acc, "bought_views", _local_days(start, end), post, metric=metric, extra=extra)

    # A viral post: 25 to 50 times the account's typical post, in views and in engagement alike.
    acc = pick(lambda a: a.platform not in ("weibo", "wechat") and len(a.posts) >= 10)
    post = rng.choice([p for p in acc.posts if p.published.date() in quiet
                       and START + timedelta(days=3) <= p.published.date() <= END - timedelta(days=2)])
    metric = _basis_metric(post)
    typical = sorted(p.final[metric] for p in acc.posts)[len(acc.posts) // 2]
    factor = typical * rng.uniform(25, 50) / post.final[metric]
    post.final = {m: v * factor for m, v in post.final.items()}
    day = post.published.date()
    record(acc, "viral_post", (day, day + timedelta(days=1)), post, metric=metric,
           views=int(post.final[metric]), typical=int(typical))

    # A deleted post: a post of at least the account's typical size is taken down 11 to 14 days
    # after publishing, so an export (at most ten days apart) has shown it; every later export
    # lists it with nothing left. (A post deleted before any export counted it was never in the data.)
    acc = pick(lambda a: a.platform in ("x", "facebook", "instagram", "youtube", "tiktok", "linkedin")
               and len(a.posts) >= 6)
    typical = sorted(p.final[_basis_metric(p)] for p in acc.posts)[len(acc.posts) // 2]
    post = rng.choice([p for p in acc.posts if p.final[_basis_metric(p)] >= typical
                       and p.published.date() <= END - timedelta(days=16)])
    post.deleted = post.published + timedelta(days=rng.randint(11, 14), hours=rng.randint(0, 23))
    record(acc, "deleted_post", (post.deleted.date(),), post, metric=_basis_metric(post))

    # A follower jump: thousands of new followers in one day (bought, or a shout-out).
    acc = pick(lambda a: a.platform == "x")
    day = rng.choice(quiet)
    acc.extra_follows[day] = rng.randint(1500, 6000)
    record(acc, "follower_jump", (day,), followers=acc.extra_follows[day])
    return out


def truth(accounts: list[Account]) -> list[Planted]:
    """The planted events of ``accounts``, in the order they were planted."""
    return sorted((e for a in accounts for e in a.planted), key=lambda e: KINDS.index(e.kind))


# --- small formatting helpers -----------------------------------------------------------------

def _md(d: date | datetime) -> str:
    return f"{d:%b} {d.day}, {d.year}"  # "Dec 2, 2024"


def _x_date(d: date | datetime) -> str:
    return f"{d:%a}, {d:%b} {d.day}, {d.year}"  # "Mon, Dec 2, 2024"


def _dec(x: float, n: int) -> str:
    s = f"{x:.{n}f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def _java_double(x: float) -> str:
    """Java's Double.toString: what the legacy X exports print ("0.0105", "5.59E-4")."""
    if x == 0:
        return "0.0"
    if 1e-3 <= abs(x) < 1e7:
        s = repr(x)
        return s if "." in s or "e" in s else s + ".0"
    sign, digits, exp = Decimal(repr(x)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    e = exp + len(ds) - 1
    return ("-" if sign else "") + ds[0] + "." + (ds[1:] or "0") + f"E{e}"


def _csv(rows: list[list], *, quote_all: bool = False, end_newline: bool = True) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    w.writerows([[("" if c is None else str(c)) for c in r] for r in rows])
    s = buf.getvalue()
    return s if end_newline else s[:-1]


def _meta_cell(c) -> str:
    """Meta quotes a cell when it holds a space, comma, quote or newline (as in its real files)."""
    s = "" if c is None else str(c)
    if any(ch in s for ch in ' ,"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def _meta_csv(rows: list[list]) -> str:
    return "".join(",".join(_meta_cell(c) for c in r) + "\n" for r in rows)


def _zip(members: list[tuple[str, bytes]], when: datetime, stored: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def _days(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


# --- one writer per export format -------------------------------------------------------------

X_CONTENT_HEADER = ["Post id", "Date", "Post text", "Post Link", "Impressions", "Likes", "Engagements", "Bookmarks",
                    "Shares", "New follows", "Replies", "Reposts", "Profile visits", "Detail Expands", "URL Clicks",
                    "Hashtag Clicks", "Permalink Clicks"]


def _x_engagements(v: dict[str, int]) -> int:
    return sum(v[k] for k in ("likes", "comments", "shares", "saves", "clicks", "profile", "detail",
                              "hashtag", "permalink", "follows"))


def write_x_content(acc: Account, t: datetime) -> bytes:
    """X Premium Content export: one row per post (lifetime), newest first, no BOM, no final newline."""
    rows = [X_CONTENT_HEADER]
    for p in reversed(acc.posts_until(t)):
        v = p.at(t)
        rows.append([p.post_id, _x_date(p.published), p.text, p.url, v["impressions"], v["likes"],
                     _x_engagements(v), v["saves"], v["shares"] // 4, v["follows"], v["comments"], v["shares"],
                     v["profile"], v["detail"], v["clicks"], v["hashtag"], v["permalink"]])
    return _csv(rows, end_newline=False).encode("utf-8")


def write_x_overview(acc: Account, t: datetime) -> bytes:
    """X Premium Overview export: one row per account-day, newest first (today still moving)."""
    rows = [["Date", "Impressions", "Likes", "Engagements", "Bookmarks", "Shares", "New follows", "Unfollows",
             "Replies", "Reposts", "Profile visits", "Create Post", "Video views", "Media views"]]
    for d in reversed(_days(START, t.date())):
        v = acc.day(d, t)
        imp = v.get("impressions", 0) + v["background"]
        n_posts = sum(1 for p in acc.posts if p.published.date() == d and p.published < t)
        rows.append([_x_date(d), imp, v.get("likes", 0), _x_engagements({**dict.fromkeys(
            ("likes", "comments", "shares", "saves", "clicks", "profile", "detail", "hashtag", "permalink",
             "follows"), 0), **v}), v.get("saves", 0), v.get("shares", 0) // 4,
            v.get("follows", 0) + acc.extra_follows.get(d, 0), (d.toordinal() % 3 == 0) * 1, v.get("comments", 0), v.get("shares", 0), v.get("profile", 0),
            n_posts, v.get("media", 0) // 2, v.get("media", 0)])
    return _csv(rows, end_newline=False).encode("utf-8")


# The metric columns of analytics.twitter.com's exports, each also as "promoted ...", in their order
# (bench/scale_data.py writes the same files at scale, FB_HEADER and IG_HEADER too).
X_LEGACY_METRICS = ["impressions", "engagements", "engagement rate", "retweets", "replies", "likes", "user profile clicks",
             "url clicks", "hashtag clicks", "detail expands", "permalink clicks", "app opens", "app installs",
             "follows", "email tweet", "dial phone", "media views", "media engagements"]


def write_x_legacy_posts(acc: Account, t: datetime) -> bytes:
    """analytics.twitter.com Tweet activity: all fields quoted, counts as floats, "-" promoted, UTC times."""
    rows = [["Tweet id", "Tweet permalink", "Tweet text", "time"] + X_LEGACY_METRICS
            + ["promoted " + c for c in X_LEGACY_METRICS]]
    for p in reversed(acc.posts_until(t)):
        v = p.at(t)
        eng = _x_engagements(v)
        rate = eng / v["impressions"] if v["impressions"] else 0.0
        floats = [v["impressions"], eng]
        rest = [v["shares"], v["comments"], v["likes"], v["profile"], v["clicks"], v["hashtag"], v["detail"],
                v["permalink"]]
        media = v["media"]
        rows.append([p.post_id, p.url.replace("https://x.com/", "https://twitter.com/"), p.text,
                     p.published.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M +0000")]
                    + [f"{x}.0" for x in floats] + [_java_double(rate)] + [f"{x}.0" for x in rest]
                    + ["0", "0", str(v["follows"]), "0", "0", str(media), str(media + media // 10)] + ["-"] * 18)
    return _csv(rows, quote_all=True).encode("utf-8")


def write_x_legacy_daily(acc: Account, t: datetime) -> bytes:
    """analytics.twitter.com Tweet activity by day: oldest first, ISO dates, ints, "-" promoted."""
    head = ["Date", "Tweets published"] + X_LEGACY_METRICS + ["promoted " + c for c in X_LEGACY_METRICS]
    rows = [head]
    for d in _days(START, t.date() - timedelta(days=1)):
        v = {**dict.fromkeys(("impressions", "likes", "comments", "shares", "saves", "clicks", "profile", "detail",
                              "hashtag", "permalink", "follows", "media"), 0), **acc.day(d, t)}
        imp = v["impressions"] + v["background"]
        eng = _x_engagements(v)
        n_posts = sum(1 for p in acc.posts if p.published.date() == d)
        rows.append([d.isoformat(), n_posts, imp, eng, _java_double(eng / imp if imp else 0.0), v["shares"],
                     v["comments"], v["likes"], v["profile"], v["clicks"], v["hashtag"], v["detail"],
                     v["permalink"], 0, 0, v["follows"] + acc.extra_follows.get(d, 0), 0, 0, v["media"], v["media"] + v["media"] // 10]
                    + ["-"] * 18)
    return _csv(rows, quote_all=True).encode("utf-8")


FB_HEADER = ["Post ID", "Page ID", "Page name", "Title", "Description", "Duration (sec)", "Publish time",
             "Caption type", "Permalink", "Is crosspost", "Is share", "Post type", "Languages", "Custom labels",
             "Funded content status", "Data comment", "Date", "Views", "Reach", "Reactions, comments and shares",
             "Reactions", "Comments", "Shares", "Seconds viewed", "Average Seconds viewed",
             "Estimated earnings (USD)", "Ad CPM (USD)", "Ad impressions", "Total clicks", "Other clicks",
             "Link clicks", "Matched audience targeting consumption (Photo Click)",
             "Negative feedback from users: Hide"]
IG_HEADER = ["Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)",
             "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes", "Shares",
             "Follows", "Comments", "Saves"]


def write_meta_posts(accounts: list[Account], t: datetime) -> bytes:
    """Meta Business Suite post export (Facebook or Instagram): UTF-8 BOM, Date = Lifetime."""
    fb = accounts[0].platform == "facebook"
    rows = [FB_HEADER if fb else IG_HEADER]
    posts = sorted(((p, a) for a in accounts for p in a.posts_until(t)), key=lambda pa: (pa[0].published, pa[0].post_id))
    for p, a in posts:
        v = p.at(t)
        when = f"{p.published:%m/%d/%Y %H:%M}"
        if fb:
            video = p.kind == "video"
            secs = v["views"] * p.duration * 0.12 if video else 0
            link = v["clicks"] // 3 if p.kind == "link" else None
            photo = v["clicks"] // 4 if p.kind == "photo" else None
            rows.append([p.post_id, a.account_id, a.name, p.text, p.text if len(p.text) > 60 else "",
                         p.duration, when, "N/A", p.url, 0, 0,
                         {"photo": "Photos", "video": "Videos", "link": "Links"}[p.kind], "", "", "", "",
                         "Lifetime", v["views"], v["reach"], v["likes"] + v["comments"] + v["shares"], v["likes"],
                         v["comments"], v["shares"], _dec(secs, 3) if video else "",
                         _dec(secs / v["views"], 3) if video and v["views"] else "", 0 if video else "",
                         0 if video else "", 0 if video else "", v["clicks"], v["clicks"] - (link or 0) - (photo or 0),
                         link, photo, 1 if v["reach"] > 20000 else None])
        else:
            rows.append([p.post_id, a.account_id, a.handle, a.name, p.text, p.duration, when, p.url,
                         {"reel": "IG reel", "carousel": "IG carousel", "image": "IG image"}[p.kind], "",
                         "Lifetime", v["views"], v["reach"], v["likes"], v["shares"], v["follows"], v["comments"],
                         v["saves"]])
    return ("\ufeff" + _meta_csv(rows)).encode("utf-8")


def write_meta_chart(acc: Account, t: datetime, title: str) -> bytes:
    """Meta page-level chart download: UTF-16 LE with BOM, sep=, line, title line, "Date","Primary"."""
    rows = [["Date", "Primary"]]
    for d in _days(START, t.date() - timedelta(days=1)):
        v = acc.day(d, t, rng_key=len(title))
        if "follows" in title:
            n = int(v.get("views", 0) * 0.002) + d.toordinal() % 4
        else:  # reach: unique people, well below views
            n = int((v.get("views", 0) + v["background"]) * 0.62)
        rows.append([f"{d.isoformat()}T00:00:00", n])
    text = "sep=,\n" + _csv([[title]], quote_all=True) + _csv(rows, quote_all=True) + "\n"
    return b"\xff\xfe" + text.encode("utf-16-le")


def write_youtube(acc: Account, t: datetime) -> bytes:
    """YouTube Studio Advanced-mode export ZIP: Table data (Total row second), Chart data, Totals."""
    posts = acc.posts_until(t)
    vals = {p.post_id: p.at(t) for p in posts}
    by_views = sorted(posts, key=lambda p: (-vals[p.post_id]["views"], p.post_id))
    head = ["Content", "Video title", "Video publish time", "Duration", "Views", "Watch time (hours)", "Subscribers",
            "Impressions", "Impressions click-through rate (%)"]
    tv = sum(v["views"] for v in vals.values())
    tw = sum(v["watch_h"] for v in vals.values())
    ts = sum(v["subs"] for v in vals.values())
    ti = sum(v["impressions"] for v in vals.values())
    rows = [head, ["Total", "", "", "", tv, _dec(tw, 4), ts, ti, _dec(100 * 0.6 * tv / ti, 2) if ti else "0"]]
    for p in by_views:
        v = vals[p.post_id]
        content = (" " + p.post_id) if p.post_id.startswith("-") else p.post_id  # Studio's CSV-injection guard
        rows.append([content, p.text, _md(p.published), p.duration, v["views"], _dec(v["watch_h"], 4), v["subs"],
                     v["impressions"], _dec(100 * 0.6 * v["views"] / v["impressions"], 2) if v["impressions"] else 0])
    days = _days(START, t.date())
    chart = [["Date", "Content", "Video title", "Video publish time", "Duration", "Views"]]
    for p in by_views[:5]:  # Studio's chart plots the top five
        for d in days:
            a = datetime.combine(d, time(), TZ)
            b = min(a + timedelta(days=1), t)
            chart.append([d.isoformat(), p.post_id, p.text, _md(p.published), p.duration,
                          p.at(b, False)["views"] - p.at(a, False)["views"]])
    totals = [["Date", "Views"]]
    for d in days:
        v = acc.day(d, t)
        totals.append([d.isoformat(), v.get("views", 0) + v["background"]])
    return _zip([("Table data.csv", _csv(rows).encode()), ("Chart data.csv", _csv(chart).encode()),
                 ("Totals.csv", _csv(totals).encode())], t)


def write_tiktok_posts(acc: Account, t: datetime) -> bytes:
    """TikTok Studio post list with the snapshot ``Time``: UTF-8 BOM, all quoted, no final newline."""
    rows = [["Time", "Video title", "Video link", "Post time", "Total likes", "Total comments", "Total shares\u00a0",
             "Total views"]]
    for p in reversed(acc.posts_until(t)):
        v = p.at(t)
        rows.append([f"{t:%Y-%m-%d %H:%M}", p.text, p.url, f"{p.published:%Y-%m-%d %H:%M}", v["likes"],
                     v["comments"], v["shares"], v["views"]])
    return ("\ufeff" + _csv(rows, quote_all=True, end_newline=False)).encode("utf-8")


def write_tiktok_overview(acc: Account, t: datetime, first: date) -> bytes:
    """TikTok Overview section ZIP (stored): Overview.csv, year-less dates, last day = yesterday."""
    rows = [["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"]]
    for d in _days(first, t.date() - timedelta(days=1)):
        v = acc.day(d, t)
        rows.append([f"{d:%B} {d.day}", v.get("views", 0) + v["background"], v.get("profile", 0) + v["background"] // 150,
                     v.get("likes", 0) + v["background"] // 40, v.get("comments", 0), v.get("shares", 0)])
    data = ("\ufeff" + _csv(rows, quote_all=True, end_newline=False)).encode("utf-8")
    return _zip([("Overview.csv", data)], t, stored=True)


LI_METRICS = ["Date", "Impressions (organic)", "Impressions (sponsored)", "Impressions (total)",
              "Unique impressions (organic)", "Clicks (organic)", "Clicks (sponsored)", "Clicks (total)",
              "Reactions (organic)", "Reactions (sponsored)", "Reactions (total)", "Comments (organic)",
              "Comments (sponsored)", "Comments (total)", "Reposts (organic)", "Reposts (sponsored)",
              "Reposts (total)", "Engagement rate (organic)", "Engagement rate (sponsored)",
              "Engagement rate (total)"]
LI_POSTS = ["Post title", "Post link", "Post type", "Campaign name", "Posted by", "Created date",
            "Campaign start date", "Campaign end date", "Audience", "Impressions",
            "Views (excluding off-site video views)", "Off-site views", "Clicks", "Click through rate (CTR)",
            "Likes", "Comments", "Reposts", "Follows", "Engagement rate", "Content Type"]


def write_linkedin(acc: Account, t: datetime) -> bytes:
    """LinkedIn Page content workbook: sheets Metrics and All posts, a note on row 1, header on row 2."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Metrics"
    ws.append(["Aggregated daily metrics for all updates posted by the Page, organic and sponsored."])
    ws.append(LI_METRICS)
    for d in _days(START, t.date() - timedelta(days=1)):
        v = acc.day(d, t)
        imp = v.get("impressions", 0) + v["background"]
        clk, rea, com, rep = v.get("clicks", 0), v.get("likes", 0), v.get("comments", 0), v.get("shares", 0)
        er = (clk + rea + com + rep) / imp if imp else 0
        ws.append([f"{d:%m/%d/%Y}", imp, 0, imp, int(imp * 0.58), clk, 0, clk, rea, 0, rea, com, 0, com, rep, 0,
                   rep, er, 0, er])
    ws2 = wb.create_sheet("All posts")
    ws2.append(["Lifetime metrics of the updates posted in the selected date range. Sponsored metrics are "
                "included for sponsored updates."])
    ws2.append(LI_POSTS)
    for p in reversed(acc.posts_until(t)):
        v = p.at(t)
        imp = v["impressions"]
        eng = v["clicks"] + v["likes"] + v["comments"] + v["shares"]
        ws2.append([p.text, p.url, "Organic", "", acc.name, f"{p.published:%m/%d/%Y}", "", "",
                    "All followers", imp, v["video"] if p.kind == "Video" else "", "", v["clicks"],
                    v["clicks"] / imp if imp else 0, v["likes"], v["comments"], v["shares"], v["follows"],
                    eng / imp if imp else 0, p.kind])
    return _workbook_bytes(wb, t)


def _workbook_bytes(wb, t: datetime) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps the save time into docProps/core.xml and the ZIP: pin both to the export moment.
    stamp = t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    members = []
    with zipfile.ZipFile(buf) as z:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            members.append((info.filename, data))
    return _zip(members, t)


# --- the Chinese platforms ----------------------------------------------------------------------

WEIBO_HEAD = ["id", "bid", "正文", "头条文章url", "原始图片url", "视频url", "位置", "日期", "工具", "点赞数", "评论数",
              "转发数", "话题", "@用户", "完整日期"]
WEIBO_SOURCES = [("2803301701", "人民日报"), ("1974576991", "环球时报"), ("2656274875", "央视新闻")]


def write_weibo(acc: Account, t: datetime) -> bytes:
    """dataabc weibo-crawler CSV (``<uid>.csv``): UTF-8 BOM, CRLF, newest first, the id followed by a
    tab, and for reposts the quoted original in the 源微博 columns (not the account's figures)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(WEIBO_HEAD + ["是否原创", "源用户id", "源用户昵称"] + ["源微博" + h for h in WEIBO_HEAD])
    for p in reversed(acc.posts_until(t)):
        v = p.at(t)
        tags = re.findall(r"#(\S+?)#?(?=\s|$)", p.text)
        row = [p.post_id + "\t", bid_from_mid(p.post_id), p.text, "", "", "", "义乌" if "义乌" in p.text else "",
               f"{p.published:%Y-%m-%d}", "iPhone 15 Pro", v["likes"], v["comments"], v["shares"], ",".join(tags), "",
               f"{p.published:%Y-%m-%d %H:%M:%S}"]
        if p.kind == "repost":
            uid, name = WEIBO_SOURCES[int(p.post_id) % len(WEIBO_SOURCES)]
            src_mid = str(int(p.post_id) - 7_000_000_000)
            src_at = p.published - timedelta(hours=2)
            big = int(p.post_id[-6:]) % 90_000 + 10_000
            row += ["False", uid, name, src_mid + "\t", bid_from_mid(src_mid), "义乌国际商贸城迎来年终采购高峰。", "", "", "",
                    "", f"{src_at:%Y-%m-%d}", "微博 weibo.com", big, big // 20, big // 8, "", "", f"{src_at:%Y-%m-%d %H:%M:%S}"]
        else:
            row += ["True", "", ""] + [""] * len(WEIBO_HEAD)
        w.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


DOUYIN_FIRST = ["作品名称", "发布时间", "体裁", "发布状态", "播放量", "完播率", "5s完播率", "作品时长", "2s跳出率", "平均播放时长",
                "点赞量", "评论量", "分享量", "收藏量", "主页访问量", "粉丝增量"]
DOUYIN_SECOND = ["作品名称", "发布时间", "体裁", "审核状态", "播放量", "完播率", "5s完播率", "封面点击率", "2s跳出率",
                 "平均播放时长", "点赞量", "评论量", "收藏量", "分享量", "主页访问量", "粉丝增量"]


def _wan(n: int) -> str:
    """Douyin's display of a count: 12,345 as "1.2万" (one decimal, rounded), smaller ones as they are."""
    return f"{n / 10000:.1f}万" if n >= 10000 else str(n)


def write_douyin(acc: Account, t: datetime) -> bytes:
    """Douyin 作品数据 export: one row per work, newest first, counts of 10,000 and more in 万. A work
    published in the last six hours is still 审核中 (left out on import). One account saves it from
    Excel as CSV (GB18030, CRLF); the others keep the workbook."""
    second = acc.handle in DOUYIN_SECOND_ORDER
    head = DOUYIN_SECOND if second else DOUYIN_FIRST
    rows = [head]
    for p in reversed(acc.posts_until(t)):
        v = p.at(t)
        h = int(p.post_id[-4:])
        finish, five, bounce = 0.04 + h % 30 / 100, 0.3 + h % 25 / 100, 0.25 + h % 20 / 100
        length = f"{p.duration // 60:02d}:{p.duration % 60:02d}" if p.duration else "-"
        reviewing = t - p.published < timedelta(hours=6)
        status = "审核中" if reviewing else ("公开" if second else "已发布")
        cells = {"作品名称": p.text, "发布时间": f"{p.published:%Y-%m-%d %H:%M:%S}", "体裁": p.kind, "发布状态": status,
                 "审核状态": status, "播放量": _wan(v["views"]), "完播率": f"{finish:.1%}" if not second else f"{finish:.4f}",
                 "5s完播率": f"{five:.1%}" if not second else f"{five:.4f}", "作品时长": length,
                 "封面点击率": f"{0.05 + h % 9 / 100:.4f}" if p.duration else "-",
                 "2s跳出率": f"{bounce:.1%}" if not second else f"{bounce:.4f}",
                 "平均播放时长": f"{max(1.0, p.duration * finish * 3):.1f}s" if p.duration else "-",
                 "点赞量": _wan(v["likes"]), "评论量": v["comments"], "分享量": v["shares"], "收藏量": v["saves"],
                 "主页访问量": v["profile"], "粉丝增量": v["follows"]}
        rows.append([cells[c] for c in head])
    if acc.handle in DOUYIN_GB18030:
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue().encode("gb18030")
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "作品数据"
    for r in rows:
        ws.append(r)
    return _workbook_bytes(wb, t)


BILIBILI_API = ["bvid", "aid", "title", "pubdate", "view", "danmaku", "reply", "favorite", "coin", "share", "like", "mid",
                "owner_name"]
BILIBILI_ZH = ["BV号", "标题", "发布时间", "时长", "播放量", "点赞", "投币", "收藏", "分享", "评论", "弹幕"]


def write_bilibili(acc: Account, t: datetime) -> bytes:
    """A community script's video statistics CSV from the public view API (UTF-8 BOM): the API's field
    names with epoch pubdate, or (one account's script) Chinese headers with a Beijing time."""
    zh = acc.handle in BILIBILI_CHINESE
    rows = [BILIBILI_ZH if zh else BILIBILI_API]
    for p in reversed(acc.posts_until(t)):
        v = p.at(t)
        if zh:
            rows.append([p.post_id, p.text, f"{p.published:%Y-%m-%d %H:%M:%S}", f"{p.duration // 60}:{p.duration % 60:02d}",
                         v["views"], v["likes"], v["coins"], v["saves"], v["shares"], v["comments"], v["danmaku"]])
        else:
            aid = 113_000_000_000_000 + int(p.published.timestamp()) % 10_000_000 * 97
            rows.append([p.post_id, aid, p.text, int(p.published.timestamp()), v["views"], v["danmaku"], v["comments"],
                         v["saves"], v["coins"], v["shares"], v["likes"], acc.account_id, acc.name])
    return ("\ufeff" + _csv(rows)).encode("utf-8")


WECHAT_ARTICLES = ["内容标题", "发表时间", "总阅读人数", "总阅读次数", "总分享人数", "总分享次数", "阅读后关注人数", "送达人数",
                   "公众号消息阅读次数", "送达阅读率", "首次分享次数", "分享产生阅读次数", "首次分享率", "每次分享带来阅读次数",
                   "阅读完成率", "内容url"]
WECHAT_TRAFFIC = ["日期", "阅读次数", "阅读人数", "分享次数", "分享人数", "阅读原文次数", "阅读原文人数", "收藏次数", "收藏人数",
                  "群发篇", "渠道"]
WECHAT_CHANNELS = (("公众号消息", 0.52), ("聊天会话", 0.2), ("朋友圈", 0.16), ("推荐", 0.08), ("其他", 0.04))


def wechat_frozen_at(p: Post) -> datetime:
    """WeChat stops updating an article's totals after the publishing day and the six days after it."""
    return datetime.combine(p.published.date() + timedelta(days=7), time(), TZ)


def write_wechat_articles(acc: Account, t: datetime) -> bytes:
    """内容分析 已通知内容 (or 未开启通知内容) download: one row per article published before the export
    day, totals of its first 7 days (frozen afterwards), 发表时间 a YYYYMMDD number, rates as fractions."""
    import openpyxl

    notified = acc.handle not in WECHAT_UNNOTIFIED
    head = WECHAT_ARTICLES if notified else [h for h in WECHAT_ARTICLES if h not in ("送达人数", "送达阅读率")]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(head)
    for p in reversed([p for p in acc.posts if p.published.date() < t.date()]):
        v = p.at(min(t, wechat_frozen_at(p)))
        reads, readers, shares = v["views"], v["reach"], v["shares"]
        message = int(reads * 0.55)
        first = int(shares * 0.4)
        from_shares = int(reads * 0.3)
        done = 0.5 + int(p.post_id.rsplit("_", 2)[1]) % 25 / 100
        cells = {"内容标题": p.text, "发表时间": int(f"{p.published:%Y%m%d}"), "总阅读人数": readers, "总阅读次数": reads,
                 "总分享人数": int(shares * 0.8), "总分享次数": shares, "阅读后关注人数": v["follows"],
                 "送达人数": acc.followers, "公众号消息阅读次数": message,
                 "送达阅读率": round(message / acc.followers, 4) if acc.followers else 0, "首次分享次数": first,
                 "分享产生阅读次数": from_shares, "首次分享率": round(first / message, 4) if message else 0,
                 "每次分享带来阅读次数": round(from_shares / shares, 4) if shares else 0, "阅读完成率": round(done, 4),
                 "内容url": p.url}
        ws.append([cells[h] for h in head])
    return _workbook_bytes(wb, t)


def write_wechat_traffic(acc: Account, t: datetime) -> bytes:
    """内容分析 流量分析 download: a title line, then per day an all-channels (全部) row and one row per
    channel. Reads and shares add up over channels; readers do not (全部 has fewer than the sum)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append([f"{acc.name} 内容分析 流量分析 {START:%Y-%m-%d} 至 {t.date() - timedelta(days=1):%Y-%m-%d}"])
    ws.append(WECHAT_TRAFFIC)
    for d in _days(START, t.date() - timedelta(days=1)):
        v = acc.day(d, t, rng_key=3)
        reads = v.get("views", 0) + v["background"]
        shares = v.get("shares", 0) + v["background"] // 30
        saves = reads // 60
        pushed = sum(1 for p in acc.posts if p.published.date() == d)
        parts = []
        left_r, left_s, left_f = reads, shares, saves
        for i, (name, share) in enumerate(WECHAT_CHANNELS):
            last = i == len(WECHAT_CHANNELS) - 1
            r = left_r if last else int(reads * share)
            s_ = left_s if last else int(shares * share)
            f = left_f if last else int(saves * share)
            left_r, left_s, left_f = left_r - r, left_s - s_, left_f - f
            parts.append((name, r, s_, f))
        ws.append([f"{d:%Y-%m-%d}", reads, int(reads * 0.72), shares, int(shares * 0.8), reads // 40, reads // 45,
                   saves, int(saves * 0.9), pushed, "全部"])
        for name, r, s_, f in parts:
            ws.append([f"{d:%Y-%m-%d}", r, int(r * 0.8), s_, int(s_ * 0.85), r // 40, r // 45, f, int(f * 0.9), pushed, name])
    return _workbook_bytes(wb, t)


def write_roster(accounts: list[Account]) -> bytes:
    rows = [["name", "category", "platform", "handle", "account_id", "followers"]]
    # Every account the demo writes: an account left out would show twice, as its person and as
    # "<handle> (unassigned)", and count one active influencer too many.
    for a in accounts:
        rows.append([a.influencer, a.category, a.platform, a.handle, a.account_id, str(a.followers)])
    return _csv(rows).encode("utf-8")


# --- when each export was downloaded ----------------------------------------------------------

def _export_days(rng: random.Random, active: bool) -> list[date]:
    if active:  # daily around the launch, then every five days
        days = _days(date(2024, 12, 20), date(2024, 12, 28)) + [date(2024, 12, 28) + timedelta(days=5 * k)
                                                                  for k in range(1, 6)]
    else:  # every week or so, on no fixed weekday
        days, d = [], START + timedelta(days=rng.randint(2, 6))
        while d <= END:
            days.append(d)
            d += timedelta(days=rng.randint(7, 10))
    days.append(FINAL_EXPORT)
    return sorted(set(x for x in days if x <= FINAL_EXPORT))


def _moment(rng: random.Random, d: date) -> datetime:
    m = rng.randint(21 * 60 + 30, 23 * 60 + 40)
    return datetime.combine(d, time(m // 60, m % 60), TZ)


def _meta_range(t: datetime) -> str:
    return f"{START:%b-%d-%Y}_{t:%b-%d-%Y}"


def _next_name(used: dict[str, int], path: str) -> str:
    """Browser-style names for repeated downloads: ``a.csv``, ``a (1).csv``, ``a (2).csv``."""
    n = used.get(path, 0)
    used[path] = n + 1
    if n == 0:
        return path
    stem, dot, ext = path.rpartition(".")
    return f"{stem} ({n}).{ext}"


def _chinese_exports(accounts: list[Account], rng: random.Random, add) -> None:
    """The Chinese platforms' downloads, every ten days or so and once after the campaign (their own
    generator, so the other platforms' files stay as they were). WeChat article downloads made more
    than a week after an article was published show its frozen first-week totals."""
    for a in accounts:
        if a.platform not in CHINESE_PLATFORMS:
            continue
        days, d = [], START + timedelta(days=rng.randint(3, 6))
        while d <= END:
            days.append(d)
            d += timedelta(days=rng.randint(8, 12))
        for d in days + [FINAL_EXPORT]:
            t = _moment(rng, d)
            if not a.posts_until(t):
                continue
            if a.platform == "weibo":
                add(t, f"weibo/{a.handle}/{d:%Y%m%d}/{a.account_id}.csv", write_weibo(a, t))
            elif a.platform == "douyin":
                ext = "csv" if a.handle in DOUYIN_GB18030 else "xlsx"
                add(t, f"douyin/{a.handle}/作品数据_{d:%Y%m%d}.{ext}", write_douyin(a, t), a)
            elif a.platform == "bilibili":
                add(t, f"bilibili/{a.handle}/video_stats_{d:%Y%m%d}.csv", write_bilibili(a, t),
                    a if a.handle in BILIBILI_CHINESE else None)
            else:
                kind = "未开启通知内容" if a.handle in WECHAT_UNNOTIFIED else "已通知内容"
                add(t, f"wechat/{a.handle}/{kind}_{d:%Y%m%d}.xlsx", write_wechat_articles(a, t), a)
        if a.platform == "wechat":
            t = _moment(rng, FINAL_EXPORT) + timedelta(minutes=4)
            add(t, f"wechat/{a.handle}/流量分析_{FINAL_EXPORT:%Y%m%d}.xlsx", write_wechat_traffic(a, t), a)


def write_demo(folder: Path, seed: int = 2024) -> DemoFiles:
    """Write the demo campaign's exports and roster into ``folder``; return them in import order."""
    folder = Path(folder)
    accounts = build_campaign(seed)
    rng = random.Random(seed * 7 + 1)
    jobs: list[tuple[datetime, str, bytes, DemoAccount | None]] = []
    used: dict[str, int] = {}
    by = {(a.platform, a.handle): a for a in accounts}

    listed: dict[tuple[str, str], list[datetime]] = {}  # when each account's posts were exported

    def add(t: datetime, rel: str, data: bytes, owner: Account | None = None, lists=()) -> None:
        jobs.append((t, _next_name(used, rel), data, owner.demo() if owner else None))
        for a in lists:
            listed.setdefault((a.platform, a.handle), []).append(t)

    for a in accounts:
        key = (a.platform, a.handle)
        if a.platform in ("facebook", "instagram") or a.platform in CHINESE_PLATFORMS:
            continue  # exported per Business portfolio below; the Chinese platforms after that
        days = _export_days(rng, key in ACTIVE)
        if key == MISSED[0]:
            days.remove(MISSED[1])
        for d in days:
            t = _moment(rng, d)
            if not a.posts_until(t) and a.platform != "linkedin":
                continue  # nothing posted yet: an empty list is not worth a download
            if a.platform == "x":
                legacy = a.handle in X_LEGACY
                if legacy:
                    add(t, f"x/{a.handle}/tweet_activity_metrics_{a.handle}_{START:%Y%m%d}_{d:%Y%m%d}_en.csv",
                        write_x_legacy_posts(a, t), lists=[a])
                else:
                    add(t, f"x/{a.handle}/account_analytics_content_{START}_{d}.csv", write_x_content(a, t), a, [a])
            elif a.platform == "youtube":
                add(t, f"youtube/Content {START}_{d} {a.name}.zip", write_youtube(a, t), a, [a])
            elif a.platform == "tiktok":
                add(t, f"tiktok/{a.handle}/Video Posts.csv", write_tiktok_posts(a, t), a, [a])
            elif a.platform == "linkedin":
                ms = int(t.timestamp() * 1000)
                add(t, f"linkedin/{a.handle}_content_{ms}.xlsx", write_linkedin(a, t), a, [a])
        # Account-level daily exports: once mid-campaign for some, once at the end for all.
        ends = [FINAL_EXPORT] + ([date(2025, 1, 2)] if rng.random() < 0.15 or key in ACTIVE else [])
        for d in sorted(ends):
            t = _moment(rng, d) + timedelta(minutes=3)
            if a.platform == "x":
                if a.handle in X_LEGACY:
                    add(t, f"x/{a.handle}/daily_tweet_activity_metrics_{a.handle}_{START:%Y%m%d}_{d:%Y%m%d}_en.csv",
                        write_x_legacy_daily(a, t), a)
                else:
                    add(t, f"x/{a.handle}/account_overview_analytics.csv", write_x_overview(a, t), a)
            elif a.platform == "tiktok":
                first = d - timedelta(days=28 if d < FINAL_EXPORT else 60)
                add(t, f"tiktok/{a.handle}/Overview_{first}_{int(t.timestamp())}_{a.handle}.zip",
                    write_tiktok_overview(a, t, first), a)

    # Meta: portfolios export all their pages in one file per platform; a few owners export alone.
    groups: list[tuple[str, list[Account], bool]] = []
    for platform in ("facebook", "instagram"):
        for pname, cats in META_PORTFOLIOS.items():
            members = [a for a in accounts if a.platform == platform and a.category in cats
                       and (a.platform, a.handle) not in META_SOLO]
            if members:
                groups.append((pname, members, (platform, pname) in ACTIVE))
        for a in accounts:
            if (a.platform, a.handle) in META_SOLO:
                groups.append((a.handle, [a], False))
    portfolio_ids = {}
    duplicate_done = False
    for pname, members, active in groups:
        platform = members[0].platform
        file_id = members[0].account_id if len(members) == 1 else portfolio_ids.setdefault(
            (platform, pname), _digits(rng, 16, "1"))
        for d in _export_days(rng, active):
            t = _moment(rng, d)
            if not any(a.posts_until(t) for a in members):
                continue
            rel = f"{platform}/{_meta_range(t)}_{file_id}.csv"
            data = write_meta_posts(members, t)
            add(t, rel, data, lists=members)
            if not duplicate_done and platform == "instagram" and pname == "media" and d >= date(2025, 1, 1):
                # Downloaded twice by mistake: same bytes, the browser adds " (1)".
                add(t + timedelta(minutes=2), rel, data)
                duplicate_done = True
    # A few page-level charts (UTF-16) at the end of the campaign.
    for (platform, handle), title in ((("facebook", "jinhubcampaign"), "Facebook Page reach"),
                                      (("facebook", "yiwumarketdaily"), "Facebook Page reach"),
                                      (("facebook", "jinhubcampaign"), "Facebook follows"),
                                      (("instagram", "yiwu.tradewindow"), "Instagram reach"),
                                      (("instagram", "globalbazaar.tv"), "Instagram reach")):
        a = by[(platform, handle)]
        t = _moment(rng, FINAL_EXPORT) + timedelta(minutes=5)
        name = {"Facebook Page reach": "Reach", "Facebook follows": "Follows", "Instagram reach": "Reach"}[title]
        add(t, f"{platform}/{handle}/{name}.csv", write_meta_chart(a, t, title), a)

    _chinese_exports(accounts, random.Random(seed * 7 + 3), add)

    jobs.sort(key=lambda j: (j[0], j[1]))
    files, as_of, owners = [], {}, {}
    for t, rel, data, owner in jobs:
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        files.append(p)
        as_of[p] = t
        if owner is not None:
            owners[p] = owner
    roster = folder / "roster.csv"
    roster.write_bytes(write_roster(accounts))
    events = truth(accounts)
    for ev in events:
        if ev.kind == "deleted_post":
            post = next(p for a in accounts for p in a.posts if p.post_id == ev.post_id and a.handle == ev.account)
            ev.seen = min(t for t in listed[(ev.platform, ev.account)] if t >= post.deleted).date()
    (folder / TRUTH_FILE).write_text(json.dumps(
        {"seed": seed, "timezone": str(TZ), "campaign_events": [d.isoformat() for d in CAMPAIGN_EVENTS],
         "events": [ev.as_json() for ev in events]}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return DemoFiles(files=files, roster=roster, as_of=as_of, accounts=owners, truth=folder / TRUTH_FILE)
