"""Words a user reads from the collectors and the pipeline: refusals of files that are not
exports or cannot be read, what a rejected row's cell should have been, rows left out on purpose,
how a table was read, an import's result line, a roster or a mapping that cannot be used, the
errors of the platforms' APIs (the Data page's last error), a folder import's skipped files, a
command-line filter that names nothing stored, a busy port.

One source of truth per message: a key in ``CATALOG`` with its English and Chinese templates. A
``Message`` is that key and its parameters, and is at the same time its English text (a ``str``):
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
from collections import Counter
from functools import lru_cache

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        # what a file is, and what to do instead (kinds.py)
        "not_an_export": "{source}: this is {kind}, not an export; {advice}",
        "binary_file": "{source}: this is a binary file, not a CSV export or a workbook; {advice}",
        "advice.export": "export CSV or XLSX from the platform's analytics page (docs/platforms.md lists where)",
        "advice.save_as": "open it in Excel or LibreOffice, save it as XLSX or CSV and import that",
        "advice.unpack": "unpack it and import the CSV or XLSX files inside (ZIP files are read as they are)",
        "kind.pdf": "a PDF",
        "kind.docx": "a Word document (DOCX)",
        "kind.doc": "a Word document (DOC)",
        "kind.pptx": "a PowerPoint presentation (PPTX)",
        "kind.ppt": "a PowerPoint presentation (PPT)",
        "kind.odt": "an OpenDocument text (ODT)",
        "kind.odp": "an OpenDocument presentation (ODP)",
        "kind.ods": "an OpenDocument spreadsheet (ODS)",
        "kind.epub": "an e-book (EPUB)",
        "kind.rtf": "a rich-text document (RTF)",
        "kind.png": "a PNG image",
        "kind.jpeg": "a JPEG image",
        "kind.gif": "a GIF image",
        "kind.webp": "a WebP image",
        "kind.heic": "a HEIC image",
        "kind.avif": "an AVIF image",
        "kind.tiff": "a TIFF image",
        "kind.bmp": "a BMP image",
        "kind.video": "a video (MP4 or QuickTime)",
        "kind.gzip": "a gzip archive",
        "kind.7z": "a 7-Zip archive",
        "kind.rar": "a RAR archive",
        # reading (read.py)
        "read.no_table": "{source}: the file has no table (it is empty or has only a title)",
        "read.old_xls": ("{source}: this is an old Excel 97-2003 workbook (.xls); open it in Excel or LibreOffice "
                         "and save it as .xlsx or .csv, then import that"),
        "read.damaged": "{source}: the {what} is damaged and cannot be read ({detail})",
        "read.damaged.workbook": "workbook",
        "read.damaged.zip": "ZIP file",
        "read.not_zip": "{source}: not a readable ZIP file ({detail})",
        "read.not_xlsx": "{source}: not a readable .xlsx workbook ({detail})",
        "read.zip_empty": "{source}: the ZIP file holds no CSV or XLSX export{hint}",
        "read.encoding": ("{source}: cannot tell the text encoding; tried {tried} (GB18030 includes GBK and GB2312, "
                          "what Excel on a Chinese Windows saves; UTF-16 is recognised by its byte-order mark). "
                          "Save the file as UTF-8 CSV and import it again"),
        "read.bad_bytes": "{source}: the file starts like {encoding} but byte {byte} ({bytes}) is not valid {encoding}",
        "read.csv": "{source}, line {line}: cannot read as CSV: {detail}",
        # detection (detect.py): the first line of a refusal
        "detect.unknown": "{source}: not a known export (header: {header}).",
        # ... and what comes after it: the closest reports, the proposal (detect.py, pipeline.py, mapping.py)
        "detect.closest_structure": "Closest by structure: {candidates}.",
        "detect.candidate": "{title} [{name}] ({fitted} of {total} columns fit; {why})",
        "detect.why.ambiguous": "its columns fit more than one way",
        "detect.why.missing": "no column for {fields}",
        "detect.why.few": "too few columns fit",
        "detect.why.unexplained": "a text or link column is where the report has none",
        "detect.why.shape": "but the rows do not have that report's shape",
        "detect.why.others": "other reports fit as well",
        "detect.closest_header": ("Closest known report: {title} [{name}], with {n} of its columns, which needs columns "
                                  "it did not find: {need}."),
        "detect.closest_header_shape": ("Closest known report: {title} [{name}], with {n} of its columns, but the rows "
                                        "do not have that report's shape."),
        "detect.need": "{field} (one of: {names})",
        "detect.nothing": ("No known report has its columns or its structure. See docs/platforms.md for the files each "
                           "platform exports."),
        "detect.other_mapping": "This header is not the one {name} was made for ({header}…).",
        "detect.proposal": "Proposed mapping as {report}: {columns}",
        "detect.to_import": ('To import it: reach mapping suggest "{file}" > mapping.toml, check the fields in '
                             'mapping.toml, then reach import "{file}" --mapping mapping.toml'),
        "mapping.not_read": "{shown}; {n} columns not read",
        "mapping.not_read_one": "{shown}; {n} column not read",
        # what a rejected cell should have been (parse.py)
        "expected.number": "a number",
        "expected.whole_number": "a whole number",
        "expected.percentage": "a percentage",
        "expected.whole_number_up_to": "a whole number up to {maximum}",
        "expected.number_at_least": "a number of at least {minimum}",
        "expected.datetime_like": "a date and time like {example}",
        "expected.datetime_empty": "a date and time (the cell is empty)",
        "expected.post_id": "a post id",
        "expected.numeric_post_id": "a numeric post id",
        # what a rejected cell should have been: the number and date readers (values.py, parse.py)
        "expected.number_like_others": ("a number written like the column's other {n} values, which use {mark} as "
                                        "the decimal mark"),
        "expected.number_like_other": ("a number written like the column's other {n} value, which use {mark} as "
                                       "the decimal mark"),
        "mark.a_point": "a point",
        "mark.a_comma": "a comma",
        "expected.clear_decimal_mark": ('a number whose decimal mark is clear: "{text}" reads as {grouped} (the {mark} '
                                        "groups thousands) or as {decimal} (the {mark} is the decimal mark), and {why}"),
        "mark.point": "point",
        "mark.comma": "comma",
        "why.both_conventions": "the column's values use both conventions",
        "why.nothing_decides": "no other value in the column decides",
        "expected.date_one_order": ('a date in one order: the column has as many day-first values ("{dmy}") as '
                                    'month-first ones ("{mdy}")'),
        "expected.date_in_order": "a date in {order} order",
        "order.dmy": "day/month/year",
        "order.mdy": "month/day/year",
        "order.ymd": "year/month/day",
        "expected.day_first": ('a date with the day first, like the column\'s other values ("{example}" and {more} more '
                               "cannot be read otherwise)"),
        "expected.month_first": ('a date with the month first, like the column\'s other values ("{example}" and {more} '
                                 "more cannot be read otherwise)"),
        "expected.date_with_year": "a date with its year",
        "expected.date_like": "a date like {example}",
        "expected.new_post_row": "a row for a new post (line {line} already has {found} with other values)",
        "expected.new_day_row": "a row for a new day (line {line} already has {found} with other values)",
        "date.undecided": ('{source}: column {column}: dates like "{example}" can be day/month or month/day and no '
                           "value in the column has a day above 12 to decide; say which with --date-order dmy|mdy"),
        "date.undecided_here": ('column {column}: dates like "{example}" can be day/month or month/day and no value in '
                                "the column has a day above 12 to decide; say which with --date-order dmy|mdy"),
        # ... and the platform modules' own (collectors/platforms/*.py)
        "expected.snapshot_format": "snapshot format version {version}",
        "expected.bilibili_time": "a date and time like 2024-12-22 18:05:00, or epoch seconds like 1734861900",
        "expected.bilibili_bvid": "a BV id like BV1xx411c7mD",
        "expected.douyin_title": "the work's name (作品名称), which identifies it",
        "expected.linkedin_url": "a LinkedIn post link with urn:li:activity:, urn:li:share: or urn:li:ugcPost:",
        "expected.meta_post_id": ("a numeric post id (Excel writes long ids as 1.36643E+15: import the CSV as Meta "
                                  "exported it)"),
        "expected.tiktok_day": 'a day like "September 25", "9 July", "28 апреля", "20/6/2022" or 2025-09-25',
        "expected.tiktok_url": "a TikTok post link like https://www.tiktok.com/@handle/video/7451234567890123456",
        "expected.wechat_url": "a WeChat article link like https://mp.weixin.qq.com/s?__biz=…&mid=…&idx=…",
        "expected.wechat_channel_day": ("a day whose channel rows can all be read (line {line} of the same day is "
                                        "rejected, so the channels cannot be summed)"),
        "expected.weibo_mid": "a numeric Weibo post id (or a bid to derive it from)",
        "expected.weibo_bid": "a Weibo post code like KCXbKd3Y6",
        "expected.youtube_id": "an 11-character YouTube video id (Excel turns ids starting with - into #NAME?)",
        # an import's result (pipeline.py), after the status column
        "result.failed": "{name}: {message}",
        "result.roster": "{name}: roster applied",
        "result.same": "{name}: already imported ({when}); nothing changed",
        "result.same_when": "as {file} on {time} UTC",
        "result.ok": "{name}: {platform} {reports}: {stored}; {rejected} rows rejected",
        "result.ok_one": "{name}: {platform} {reports}: {stored}; {rejected} row rejected",
        "result.posts_snapshots": "{posts} posts, {snapshots} snapshots",
        "result.post_days": "{post_days} post-days",
        "result.post_days_of": "{post_days} post-days of {posts} posts",
        "result.account_days": "{account_days} account-days",
        "result.no_rows": "no rows",
        "result.left_out": " (left out: {what})",
        "result.unknown_account": "; the file names no account: stored under 'unknown' (name it with --account)",
        "result.snapshot_time": "; snapshot time {time} UTC from {source}",
        "result.cannot_read": "cannot read the file: {detail}",
        "result.db_refused": "the database refused the file: {detail}",
        "result.strict": "{rejected} rows rejected and --strict is on; first: {first}",
        "problem": "{where}, column \"{column}\": {value} is not {expected}",
        "problem.where": "{source}, line {line}",
        # where a snapshot time came from (pipeline.py, store/bulk.py)
        "source.file name": "file name",
        "source.file column": "file column",
        "source.--as-of": "--as-of",
        "source.import time": "import time",
        "sep.list": "; ",
        "sep.items": ", ",
        "sep.or": " or ",
        # rows left out on purpose (parse.py, the platform modules), counted in the result line
        "result.left_out_item": "{reason}: {n}",  # not "1 Total rows": the count after the words needs no plural
        "skip.exact_repeats": "exact repeats of an earlier row",
        "skip.empty_rows": "empty rows",
        "skip.descriptions_row": "the row of column descriptions under the header",
        "skip.chart_days": 'days of "{title}" ({why})',
        "skip.x_junk": "junk rows with /status/undefined",
        "skip.douyin_unpublished": "works not published ({column} {value})",
        "skip.youtube_total": "Total rows",
        "skip.youtube_footer": "footer lines (Showing top N results)",
        "skip.youtube_before_range": "range totals of videos published before the range starts (not lifetime)",
        "skip.wechat_has_whole": "per-channel rows of days that have an all-channels (全部) row",
        "skip.wechat_summed": "per-channel rows summed into their day (no all-channels row)",
        # why a Meta chart download is left out (platforms/meta.py CHART_RULES)
        "chart.visits": "visits to the Page or profile are not a canonical metric",
        "chart.unfollows": "unfollows are not a canonical metric",
        "chart.interactions": "interactions add up reactions, comments, shares and more: not one canonical metric",
        "chart.page_likes": "Page likes are not follows",
        "chart.followers": "a follower chart may hold the follower total rather than the day's gain",
        "chart.unknown_title": ("the title names no metric in the languages the catalog knows for chart titles "
                                "({languages}); if the title is in another language, add its words to "
                                "[chart_metrics] in collectors/catalogs/meta.toml"),
        "parse.all_rejected": ("{source}: every one of {n} rows was rejected as a {title}; nothing imported. "
                               "First problems: {first}"),
        # how a table not recognised by its headers was read, and the reader's notes (pipeline.py)
        "detect.read": "{source}: read {how}: {columns}",
        "detect.how.headers": "by its headers ({language})",
        "detect.how.by_position": ("by its headers ({language}), and {n} columns the catalog has no {language} name "
                                   "for by their position"),
        "detect.how.by_position_one": ("by its headers ({language}), and {n} column the catalog has no {language} "
                                       "name for by their position"),
        "detect.how.structure": "by structure, {fit} of columns fit",
        "detect.how.mapping": "with {mapping}",
        "mapping.name.file": "the mapping from {file}",
        "mapping.name.profile": "the saved mapping profile {signature}",
        "mapping.name.signature": "the mapping profile {signature}",
        "mapping.name.page": "the mapping chosen on the Data page",
        "mapping.name.default": "the mapping",
        "detect.note": "{source}: note: {note}",
        "read.extra_cells": "rows with more cells than the header at lines {lines}",
        "read.formulas": ("{n} formula cells have no saved value and read as empty ({cells}); open the workbook in "
                          "Excel or LibreOffice and save it so the values are stored"),
        "result.manifest_warning": ("warning: the archive's manifest line was not written ({detail}); the next "
                                    "command (or `reach doctor --repair`) writes it"),
        # a mapping that cannot be used (mapping.py)
        "mapping.unknown_report": '{where}: report = "{report}" is not a known report; known: {known}',
        "mapping.unknown_field": '{where}: column "{header}": field = "{field}" is not a field of {report}; its fields: {fields}',
        "mapping.field_twice": ("{where}: each field can be read from one column only; more than one column has "
                                "field = {fields}"),
        "mapping.missing": ('{where}: {report} needs a column for each of: {fields} (give field = "..." to the columns '
                            "that hold them)"),
        "mapping.date_order": '{where}: date_order = "{value}" is not one of {orders}',
        "mapping.not_toml": "{source}: not a mapping file: {detail}",
        "mapping.needs": ('{source}: a mapping file needs report = "..." and [[columns]] tables (write one with: '
                          "reach mapping suggest FILE > {source})"),
        "mapping.column_header": '{source}: [[columns]] number {k} needs header = "..."',
        "mapping.field_text": '{source}: column "{header}": field must be text, found {found}',
        # the roster (roster.py)
        "roster.columns": ("{source}: a roster needs the columns name, platform and handle or account_id "
                           "(optional: category); found: {header}"),
        "roster.not_imported": "{source}: the roster was not imported; fix these rows: {problems}",
        "expected.one_of": "one of {choices}",
        "expected.influencer_name": "an influencer name",
        "expected.handle_or_id": "a handle or an account id",
        "expected.whole_followers": "a whole number of followers",
        # the platforms' APIs (collectors/api/*): what the Data page shows as the last error
        "api.platform": "{api}: {message}",
        "api.connection": "{request} failed {n} times ({why}); stopped this run, the next run tries again",
        "api.why.timeout": "no answer in time",
        "api.why.connection": "could not connect or the connection broke",
        "api.why.none": "no reason given",
        "api.auth": "{advice} ({request} answered HTTP {status})",
        "api.auth_said": "{advice} ({request} answered HTTP {status}; the API said: {said})",
        "api.wait_too_long": ("rate limited ({why}); the platform asks to wait {wait}, until {until} UTC, longer than "
                              "the {cap} this run waits; stopped, the next run after that time goes on"),
        "api.still_limited": "still rate limited after {n} waits ({request}); stopped this run",
        "api.failed_times": "{request} failed {n} times ({why}); stopped this run",
        "api.refused": "{request} was refused (HTTP {status}): {why}",
        "api.not_json": ("{request} answered twice with something that is not JSON (first bytes: {first}); stopped "
                         "this run"),
        "api.quota": "daily quota used up; next try after {until} UTC",
        "api.no_credentials": "no credentials: set {where} (docs/collectors.md)",
        "api.bad_shape": "an answer did not have the shape the API documents ({error}); stopped this run",
        "api.cursor_refused": ("{error} (the saved paging cursor of {target} was refused and is forgotten; the next "
                               "run starts from the first page)"),
        "api.not_stored": "the snapshot {name} could not be stored: {why}",
        "api.where": "{setting} in {file}",
        "api.where_either": "{env} or {place}",
        "api.renew.youtube": ("the YouTube API key was refused: create a new key in Google Cloud Console (APIs & "
                              "Services → Credentials, with the YouTube Data API v3 enabled for its project) and put "
                              "it in {where}"),
        "api.renew.meta": ("the Meta access token has expired or was invalidated (Graph error 190): make a new "
                           "long-lived token (a system user token from Business Settings, or a Page token from a "
                           "long-lived user token via GET /me/accounts) and put it in {where}"),
        "api.renew.x_app": ("X refused the Bearer Token: regenerate it in the X developer portal (your app → Keys and "
                            "tokens → Bearer Token) and put it in {where}"),
        "api.renew.x_user": ("X refused the user token: OAuth 2.0 user tokens expire after 2 hours; get a new one with "
                             "your refresh token (POST https://api.x.com/2/oauth2/token, grant_type=refresh_token, "
                             "scopes tweet.read users.read offline.access) and put it in {where}"),
        "api.renew.tiktok": ("the TikTok access token is invalid or expired (tokens last 24 hours): get a new one with "
                             "the refresh token (POST https://open.tiktokapis.com/v2/oauth/token/, "
                             "grant_type=refresh_token; refresh tokens last 365 days) and put it in {where}"),
        "api.renew.default": "the credentials were refused",
    },
    "zh": {
        "not_an_export": "{source}：这是{kind}，不是导出文件；{advice}",
        "binary_file": "{source}：这是一个二进制文件，不是 CSV 导出文件或工作簿；{advice}",
        "advice.export": "请从平台的数据分析页面导出 CSV 或 XLSX（位置见 docs/platforms.md）",
        "advice.save_as": "请用 Excel 或 LibreOffice 打开，另存为 XLSX 或 CSV 后再导入",
        "advice.unpack": "请解压后导入其中的 CSV 或 XLSX 文件（ZIP 文件可直接读取）",
        "kind.pdf": "一份 PDF 文件",
        "kind.docx": "一份 Word 文档（DOCX）",
        "kind.doc": "一份 Word 文档（DOC）",
        "kind.pptx": "一份 PowerPoint 演示文稿（PPTX）",
        "kind.ppt": "一份 PowerPoint 演示文稿（PPT）",
        "kind.odt": "一份 OpenDocument 文本（ODT）",
        "kind.odp": "一份 OpenDocument 演示文稿（ODP）",
        "kind.ods": "一份 OpenDocument 电子表格（ODS）",
        "kind.epub": "一本电子书（EPUB）",
        "kind.rtf": "一份富文本文档（RTF）",
        "kind.png": "一张 PNG 图片",
        "kind.jpeg": "一张 JPEG 图片",
        "kind.gif": "一张 GIF 图片",
        "kind.webp": "一张 WebP 图片",
        "kind.heic": "一张 HEIC 图片",
        "kind.avif": "一张 AVIF 图片",
        "kind.tiff": "一张 TIFF 图片",
        "kind.bmp": "一张 BMP 图片",
        "kind.video": "一段视频（MP4 或 QuickTime）",
        "kind.gzip": "一个 gzip 压缩包",
        "kind.7z": "一个 7-Zip 压缩包",
        "kind.rar": "一个 RAR 压缩包",
        "read.no_table": "{source}：文件中没有表格（文件为空或只有标题）",
        "read.old_xls": "{source}：这是旧版 Excel 97-2003 工作簿（.xls）；请用 Excel 或 LibreOffice 打开，另存为 .xlsx 或 .csv 后再导入",
        "read.damaged": "{source}：{what}已损坏，无法读取（{detail}）",
        "read.damaged.workbook": "工作簿",
        "read.damaged.zip": "ZIP 文件",
        "read.not_zip": "{source}：不是可读取的 ZIP 文件（{detail}）",
        "read.not_xlsx": "{source}：不是可读取的 .xlsx 工作簿（{detail}）",
        "read.zip_empty": "{source}：ZIP 文件中没有 CSV 或 XLSX 导出文件{hint}",
        "read.encoding": ("{source}：无法判断文本编码；已尝试 {tried}（GB18030 包含 GBK 和 GB2312，即中文 Windows 上的 "
                          "Excel 保存的编码；UTF-16 可由字节顺序标记识别）。请将文件另存为 UTF-8 CSV 后重新导入"),
        "read.bad_bytes": "{source}：文件开头像是 {encoding}，但第 {byte} 个字节（{bytes}）不是有效的 {encoding}",
        "read.csv": "{source}，第 {line} 行：无法按 CSV 读取：{detail}",
        "detect.unknown": "{source}：不是已知的导出文件（表头：{header}）。",
        "detect.closest_structure": "按结构最接近的：{candidates}。",
        "detect.candidate": "{title} [{name}]（{total} 列中有 {fitted} 列吻合；{why}）",
        "detect.why.ambiguous": "其各列有不止一种对应方式",
        "detect.why.missing": "缺少 {fields} 对应的列",
        "detect.why.few": "吻合的列太少",
        "detect.why.unexplained": "有一列文本或链接出现在该报表没有此类列的位置",
        "detect.why.shape": "但各行不符合该报表的形式",
        "detect.why.others": "其他报表同样吻合",
        "detect.closest_header": "最接近的已知报表：{title} [{name}]，有其 {n} 列，但缺少它需要的列：{need}。",
        "detect.closest_header_shape": "最接近的已知报表：{title} [{name}]，有其 {n} 列，但各行不符合该报表的形式。",
        "detect.need": "{field}（以下之一：{names}）",
        "detect.nothing": "没有任何已知报表具有这些列或这种结构。各平台导出哪些文件，请见 docs/platforms.md。",
        "detect.other_mapping": "此表头不是{name}所针对的表头（{header}…）。",
        "detect.proposal": "建议按 {report} 映射：{columns}",
        "detect.to_import": ('导入方法：reach mapping suggest "{file}" > mapping.toml，检查 mapping.toml 中的字段，'
                             '然后运行 reach import "{file}" --mapping mapping.toml'),
        "mapping.not_read": "{shown}；{n} 列未读取",
        "mapping.not_read_one": "{shown}；{n} 列未读取",
        "expected.number": "数字",
        "expected.whole_number": "整数",
        "expected.percentage": "百分比",
        "expected.whole_number_up_to": "不超过 {maximum} 的整数",
        "expected.number_at_least": "不小于 {minimum} 的数字",
        "expected.datetime_like": "形如 {example} 的日期和时间",
        "expected.datetime_empty": "日期和时间（该单元格为空）",
        "expected.post_id": "帖子 ID",
        "expected.numeric_post_id": "数字形式的帖子 ID",
        "expected.number_like_others": "与该列其他 {n} 个值写法一致的数字（它们以{mark}作小数点）",
        "expected.number_like_other": "与该列另外 {n} 个值写法一致的数字（它以{mark}作小数点）",
        "mark.a_point": "句点",
        "mark.a_comma": "逗号",
        "expected.clear_decimal_mark": ("小数点明确的数字：“{text}”既可读作 {grouped}（{mark}为千位分隔符），也可读作 {decimal}"
                                        "（{mark}为小数点），而{why}"),
        "mark.point": "句点",
        "mark.comma": "逗号",
        "why.both_conventions": "该列的值两种写法都有",
        "why.nothing_decides": "该列没有其他值能判断是哪一种",
        "expected.date_one_order": "顺序统一的日期：该列中日在前的值（“{dmy}”）与月在前的值（“{mdy}”）一样多",
        "expected.date_in_order": "按{order}顺序书写的日期",
        "order.dmy": "日/月/年",
        "order.mdy": "月/日/年",
        "order.ymd": "年/月/日",
        "expected.day_first": "日在前的日期，与该列其他值一致（“{example}”及另外 {more} 个值只能这样读）",
        "expected.month_first": "月在前的日期，与该列其他值一致（“{example}”及另外 {more} 个值只能这样读）",
        "expected.date_with_year": "带年份的日期",
        "expected.date_like": "形如 {example} 的日期",
        "expected.new_post_row": "一条新帖子的行（第 {line} 行已有 {found}，但数值不同）",
        "expected.new_day_row": "新的一天的行（第 {line} 行已有 {found}，但数值不同）",
        "date.undecided": ("{source}：{column} 列：像“{example}”这样的日期既可能是日/月，也可能是月/日，而该列没有"
                           "日大于 12 的值可以判断；请用 --date-order dmy|mdy 指定"),
        "date.undecided_here": ("{column} 列：像“{example}”这样的日期既可能是日/月，也可能是月/日，而该列没有"
                                "日大于 12 的值可以判断；请用 --date-order dmy|mdy 指定"),
        "expected.snapshot_format": "快照格式版本 {version}",
        "expected.bilibili_time": "形如 2024-12-22 18:05:00 的日期和时间，或形如 1734861900 的 Unix 秒数",
        "expected.bilibili_bvid": "形如 BV1xx411c7mD 的 BV 号",
        "expected.douyin_title": "作品名称（用来识别作品）",
        "expected.linkedin_url": "包含 urn:li:activity:、urn:li:share: 或 urn:li:ugcPost: 的 LinkedIn 帖子链接",
        "expected.meta_post_id": "数字形式的帖子 ID（Excel 会把长 ID 写成 1.36643E+15：请导入 Meta 导出的原始 CSV）",
        "expected.tiktok_day": "形如“September 25”“9 July”“28 апреля”“20/6/2022”或 2025-09-25 的日期",
        "expected.tiktok_url": "形如 https://www.tiktok.com/@handle/video/7451234567890123456 的 TikTok 帖子链接",
        "expected.wechat_url": "形如 https://mp.weixin.qq.com/s?__biz=…&mid=…&idx=… 的微信文章链接",
        "expected.wechat_channel_day": "各渠道行都能读取的日期（同一天的第 {line} 行被拒绝，因此无法汇总各渠道）",
        "expected.weibo_mid": "数字形式的微博帖子 ID（或可据以推算的 bid）",
        "expected.weibo_bid": "形如 KCXbKd3Y6 的微博帖子代码",
        "expected.youtube_id": "11 位字符的 YouTube 视频 ID（Excel 会把以 - 开头的 ID 变成 #NAME?）",
        "result.failed": "{name}：{message}",
        "result.roster": "{name}：已应用名单",
        "result.same": "{name}：已导入过（{when}）；未作任何更改",
        "result.same_when": "即 {time} UTC 导入的 {file}",
        "result.ok": "{name}：{platform} {reports}：{stored}；拒绝 {rejected} 行",
        "result.ok_one": "{name}：{platform} {reports}：{stored}；拒绝 {rejected} 行",
        "result.posts_snapshots": "{posts} 条帖子，{snapshots} 个快照",
        "result.post_days": "{post_days} 条帖子日数据",
        "result.post_days_of": "{posts} 条帖子的 {post_days} 条帖子日数据",
        "result.account_days": "{account_days} 条账号日数据",
        "result.no_rows": "没有数据行",
        "result.left_out": "（略过：{what}）",
        "result.unknown_account": "；文件未注明账号：已存储在“unknown”名下（可用 --account 指定）",
        "result.snapshot_time": "；快照时间 {time} UTC，取自{source}",
        "result.cannot_read": "无法读取文件：{detail}",
        "result.db_refused": "数据库拒绝了该文件：{detail}",
        "result.strict": "拒绝了 {rejected} 行，且已开启 --strict；第一行：{first}",
        "problem": "{where}，“{column}”列：{value} 不是{expected}",
        "problem.where": "{source}，第 {line} 行",
        "source.file name": "文件名",
        "source.file column": "文件中的时间列",
        "source.--as-of": "导入时指定的时间（--as-of）",
        "source.import time": "导入时间",
        "sep.list": "；",
        "sep.items": "；",
        "sep.or": " 或 ",
        "result.left_out_item": "{reason}：{n} 行",
        "skip.exact_repeats": "与前面某行完全相同的重复行",
        "skip.empty_rows": "空行",
        "skip.descriptions_row": "表头下方的列说明行",
        "skip.chart_days": "“{title}”的每日数据（{why}）",
        "skip.x_junk": "链接以 /status/undefined 结尾的无效行",
        "skip.douyin_unpublished": "未公开发布的作品（{column} {value}）",
        "skip.youtube_total": "合计（Total）行",
        "skip.youtube_footer": "表尾说明行（Showing top N results）",
        "skip.youtube_before_range": "日期范围开始前发布的视频的区间合计（不是累计总数）",
        "skip.wechat_has_whole": "已有全部渠道（全部）行的日期的分渠道行",
        "skip.wechat_summed": "已汇总为当天数据的分渠道行（该日没有全部渠道行）",
        "chart.visits": "主页或个人资料的访问次数不是标准指标",
        "chart.unfollows": "取消关注数不是标准指标",
        "chart.interactions": "互动数是心情、评论、分享等的总和，不是单一的标准指标",
        "chart.page_likes": "主页赞不等于关注",
        "chart.followers": "粉丝图表记录的可能是粉丝总数，而不是当天新增的粉丝数",
        "chart.unknown_title": ("标题中没有任何指标名称属于目录已知的图表标题语言（{languages}）；如果标题是其他语言，"
                                "请把其中的词加入 collectors/catalogs/meta.toml 的 [chart_metrics]"),
        "parse.all_rejected": "{source}：全部 {n} 行按 {title} 读取时都被拒绝；未导入任何数据。前几个问题：{first}",
        "detect.read": "{source}：{how}读取：{columns}",
        "detect.how.headers": "按表头（{language}）",
        "detect.how.by_position": "按表头（{language}；目录中没有 {language} 名称的 {n} 列按其位置）",
        "detect.how.by_position_one": "按表头（{language}；目录中没有 {language} 名称的 {n} 列按其位置）",
        "detect.how.structure": "按结构（{fit} 的列吻合）",
        "detect.how.mapping": "按{mapping} ",
        "mapping.name.file": "映射文件 {file}",
        "mapping.name.profile": "已保存的映射配置 {signature}",
        "mapping.name.signature": "映射配置 {signature}",
        "mapping.name.page": "在“数据”页面上选择的映射",
        "mapping.name.default": "该映射",
        "detect.note": "{source}：注意：{note}",
        "read.extra_cells": "以下各行的单元格比表头多：{lines}",
        "read.formulas": ("{n} 个公式单元格没有保存的值，按空值读取（{cells}）；请用 Excel 或 LibreOffice 打开该工作簿"
                          "并保存一次，以便存入这些值"),
        "result.manifest_warning": "警告：未能写入存档清单中的这一行（{detail}）；下一条命令（或 `reach doctor --repair`）会补写",
        "mapping.unknown_report": '{where}：report = "{report}" 不是已知的报表；已知报表：{known}',
        "mapping.unknown_field": '{where}：“{header}”列：field = "{field}" 不是 {report} 的字段；它的字段有：{fields}',
        "mapping.field_twice": "{where}：每个字段只能从一列读取；有不止一列写了 field = {fields}",
        "mapping.missing": '{where}：{report} 需要以下每个字段各有一列：{fields}（请在包含它们的列上写 field = "..."）',
        "mapping.date_order": '{where}：date_order = "{value}" 不是 {orders} 之一',
        "mapping.not_toml": "{source}：不是映射文件：{detail}",
        "mapping.needs": ('{source}：映射文件需要 report = "..." 和 [[columns]] 表（可以这样生成一个：'
                          "reach mapping suggest FILE > {source}）"),
        "mapping.column_header": '{source}：第 {k} 个 [[columns]] 需要 header = "..."',
        "mapping.field_text": "{source}：“{header}”列：field 必须是文本，实际为 {found}",
        "roster.columns": "{source}：名单需要 name、platform 以及 handle 或 account_id 列（可选：category）；文件中的列：{header}",
        "roster.not_imported": "{source}：名单未导入；请修正以下各行：{problems}",
        "expected.one_of": "以下之一：{choices}",
        "expected.influencer_name": "达人姓名",
        "expected.handle_or_id": "账号名或账号 ID",
        "expected.whole_followers": "整数形式的粉丝数",
        "api.platform": "{api}：{message}",
        "api.connection": "{request} 失败了 {n} 次（{why}）；本次运行已停止，下次运行会重试",
        "api.why.timeout": "未能及时得到应答",
        "api.why.connection": "无法连接或连接中断",
        "api.why.none": "未说明原因",
        "api.auth": "{advice}（{request} 返回 HTTP {status}）",
        "api.auth_said": "{advice}（{request} 返回 HTTP {status}；接口说明：{said}）",
        "api.wait_too_long": ("受到频率限制（{why}）；平台要求等待 {wait}，直到 {until} UTC，超过了本次运行最多等待的 {cap}；"
                              "已停止，此时间之后的下次运行会继续"),
        "api.still_limited": "等待 {n} 次后仍受到频率限制（{request}）；本次运行已停止",
        "api.failed_times": "{request} 失败了 {n} 次（{why}）；本次运行已停止",
        "api.refused": "{request} 被拒绝（HTTP {status}）：{why}",
        "api.not_json": "{request} 两次返回的内容都不是 JSON（开头的字节：{first}）；本次运行已停止",
        "api.quota": "每日配额已用完；{until} UTC 之后再试",
        "api.no_credentials": "没有凭据：请设置 {where}（见 docs/collectors.md）",
        "api.bad_shape": "有一个应答不符合接口文档所述的结构（{error}）；本次运行已停止",
        "api.cursor_refused": "{error}（{target} 保存的分页游标被拒绝，已丢弃；下次运行将从第一页开始）",
        "api.not_stored": "快照 {name} 无法存储：{why}",
        "api.where": "{file} 中的 {setting}",
        "api.where_either": "{env} 或 {place}",
        "api.renew.youtube": ("YouTube API 密钥被拒绝：请在 Google Cloud Console 中创建新密钥（APIs & Services → "
                              "Credentials，并为其项目启用 YouTube Data API v3），然后填入 {where}"),
        "api.renew.meta": ("Meta 访问令牌已过期或已失效（Graph error 190）：请生成新的长期令牌（Business Settings 中的系统用户"
                           "令牌，或通过 GET /me/accounts 由长期用户令牌得到的 Page 令牌），然后填入 {where}"),
        "api.renew.x_app": ("X 拒绝了 Bearer Token：请在 X 开发者门户中重新生成（你的应用 → Keys and tokens → Bearer "
                            "Token），然后填入 {where}"),
        "api.renew.x_user": ("X 拒绝了用户令牌：OAuth 2.0 用户令牌 2 小时后过期；请用刷新令牌获取新令牌（POST "
                             "https://api.x.com/2/oauth2/token，grant_type=refresh_token，scopes tweet.read users.read "
                             "offline.access），然后填入 {where}"),
        "api.renew.tiktok": ("TikTok 访问令牌无效或已过期（令牌有效期 24 小时）：请用刷新令牌获取新令牌（POST "
                             "https://open.tiktokapis.com/v2/oauth/token/，grant_type=refresh_token；刷新令牌有效期 365 天），"
                             "然后填入 {where}"),
        "api.renew.default": "凭据被拒绝",
    },
}


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
