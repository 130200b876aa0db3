"""Path and query parameters with their bounds, declared once (issue 14).

A number or a date the database or Python cannot hold (an id of 2147483648, the year 1 or
9999) used to travel down to PostgreSQL and come back as an error. Declared here, the bound
is in the OpenAPI document (so clients and the fuzzer see it) and Litestar enforces it
before the handler runs, with a Chinese 400 naming the parameter (web.core.errors). Every
integer path or query parameter of a route uses one of these (tests/web/api/test_api_docs.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar.params import Parameter
from litestar.plugins import OpenAPISchemaPlugin
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema

# PostgreSQL's integer, the type of every id column and keyset cursor.
INT4_MAX = 2_147_483_647
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
# The years above as a pattern, for clients and the fuzzer (JSON Schema has no date range).
YEARS = r"^(19[0-9]{2}|2[0-9]{3})-"

RowId = Annotated[int, Parameter(ge=1, le=INT4_MAX, description=f"A record's number: 1 to {INT4_MAX}.")]
Cursor = Annotated[int | None, Parameter(ge=1, le=INT4_MAX, description=f"Keyset cursor (the last row's number): 1 to "
                                                                         f"{INT4_MAX}.")]


class Day(date):
    """A calendar day from 1900-01-01 to 2999-12-31, as YYYY-MM-DD."""


class Moment(datetime):
    """A moment from 1900 to 2999, as ISO 8601 (without an offset: Asia/Shanghai time)."""


def _in_range(value: date) -> None:
    if not FIRST_DAY <= (value.date() if isinstance(value, datetime) else value) <= LAST_DAY:
        raise ValueError(f"应在 {FIRST_DAY.year} 年到 {LAST_DAY.year} 年之间")


def decode_day(_: type, value: Any) -> Day:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        raise ValueError("日期格式应为 YYYY-MM-DD，例如 2026-12-07") from None
    _in_range(day)
    return Day(day.year, day.month, day.day)


def decode_moment(_: type, value: Any) -> Moment:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        raise ValueError("时间格式应为 ISO 8601，例如 2026-12-07T09:30:00+08:00") from None
    _in_range(moment)
    return Moment(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                  moment.microsecond, moment.tzinfo)


# For Litestar(type_decoders=...): how a parameter of these types is read from the request.
type_decoders = [(lambda kind: kind is Day, decode_day), (lambda kind: kind is Moment, decode_moment)]


class BoundedDatesSchema(OpenAPISchemaPlugin):
    """Day and Moment in the OpenAPI document: ISO strings whose year the pattern bounds."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value in (Day, Moment)

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        moment = field_definition.annotation is Moment
        return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME if moment else OpenAPIFormat.DATE,
                      pattern=YEARS, description=(Moment if moment else Day).__doc__)
