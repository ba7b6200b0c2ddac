"""The `reach` command line's parameters: the types that check a value where it is given, and the
options several commands share, each declared once here (dashboard/cli.py puts them on commands).

A value a type refuses is said in our words and with the exit status the command gave when it
checked the value itself: 1 for a file, folder or timezone that is not there (as a failed run),
while click's own refusals (an unknown option, a choice not offered, a number that is not one)
keep exit status 2, as argparse's did.
"""
from __future__ import annotations

from pathlib import Path

import click

from collectors.mapping import DATE_ORDERS
from collectors.model import DEFAULT_TIMEZONE


class Refused(click.BadParameter):
    """A value one of our types refused: the message names the option and the value itself (so it
    reads as the command's other errors do), and the exit status is the type's."""

    def __init__(self, message: str, ctx, param, exit_code: int):
        super().__init__(message, ctx=ctx, param=param)
        self.exit_code = exit_code  # an instance's, over click's class-wide 2

    def format_message(self) -> str:
        return self.message


def given_as(param, ctx) -> str:
    """How the user gave this parameter: ``--tz``, ``REACH_TZ`` when it came from the environment,
    or an argument's metavar."""
    if param is None:
        return "value"
    if isinstance(param, click.Option):
        if (ctx is not None and param.envvar
                and ctx.get_parameter_source(param.name) is click.ParameterSource.ENVIRONMENT):
            return param.envvar if isinstance(param.envvar, str) else param.envvar[0]
        return max(param.opts, key=len)
    return param.human_readable_name


class _OurWords:
    """Refusals as ``Refused`` with the type's exit status, not click's "Invalid value for ..."."""

    exit_code = 1

    def fail(self, message, param=None, ctx=None):
        raise Refused(message, ctx, param, self.exit_code)


class TimeZone(_OurWords, click.ParamType):
    """An IANA timezone name such as Asia/Shanghai. The name is kept (the importer records it with
    each import, and `reach rebuild` replays it), once a zone of that name is found."""

    name = "zone"

    def convert(self, value, param, ctx):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ("America")
            self.fail(f"{given_as(param, ctx)} {value!r} is not a timezone name like {DEFAULT_TIMEZONE}", param, ctx)
        return value


class Existing(_OurWords, click.Path):
    """``click.Path(exists=True)`` saying "no such file: X" and the like, before any work (no
    database is created for a mistyped name). The value stays the text given."""

    def convert(self, value, param, ctx):
        path = Path(value)
        kind = "file or folder" if self.file_okay and self.dir_okay else "file" if self.file_okay else "folder"
        where = "" if isinstance(param, click.Argument) else f"{given_as(param, ctx)} "
        if not path.exists():
            self.fail(f"{where}{value}: no such {kind}" if where else f"no such {kind}: {value}", param, ctx)
        if not self.dir_okay and path.is_dir():
            self.fail(f"{where}{value} is a folder, not a file", param, ctx)
        if not self.file_okay and not path.is_dir():
            self.fail(f"{where}{value} is a file, not a folder", param, ctx)
        return super().convert(value, param, ctx)  # click's other checks (readable), in click's words


def existing(kind: str) -> Existing:
    """A path that must exist: a "file", a "folder" or either ("path")."""
    return Existing(exists=True, file_okay=kind != "folder", dir_okay=kind != "file")


def options(*decorators):
    """Several options as one decorator, listed by --help in the order written."""
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


# --- shared options ---------------------------------------------------------------------------
# The database's URL and the users file are resolved where they are used (database.connect,
# auth.users_path: $REACH_DB, $REACH_USERS, the defaults), so these options default to None.

db_options = options(
    click.option("--db", metavar="URL", help="database URL or SQLite file path (default: $REACH_DB or data/reach.db)"),
    click.option("--archive", metavar="DIR", help="where imported files are kept (default: beside a SQLite database)"),
)

config_option = click.option("--config", metavar="FILE", type=existing("file"),
                             help="campaign config (default: ./campaign.toml or $REACH_CONFIG)")

tz_option = click.option("--tz", type=TimeZone(), envvar="REACH_TZ", default=DEFAULT_TIMEZONE, metavar="ZONE",
                         help=f"timezone of times written without one (default: $REACH_TZ or {DEFAULT_TIMEZONE}, "
                              "the campaign's)")

account_option = click.option("--account", metavar="HANDLE",
                              help="account for files whose rows name none (e.g. YouTube Table data)")

date_order_option = click.option(
    "--date-order", type=click.Choice(DATE_ORDERS),
    help="how to read numeric dates like 05/06/2024 when no value in the column decides "
         "(day-month-year, month-day-year, year-month-day)")

jobs_option = click.option(
    "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
    help="processes that read and parse the next files while this one writes them, in order "
         "(default: one per core, up to 4; 1 parses each file in turn)")

users_option = click.option("--users", metavar="FILE", help="users file (default: $REACH_USERS or data/users.toml)")
