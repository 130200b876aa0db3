"""The grounds on which the committee must reject a bid (招标投标法实施条例 第五十一条)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# 招标投标法实施条例 第五十一条: the committee shall reject a bid where ...
REJECTION_GROUNDS: Mapping[int, str] = {
    1: "投标文件未经投标单位盖章和单位负责人签字",
    2: "投标联合体没有提交共同投标协议",
    3: "投标人不符合国家或者招标文件规定的资格条件",
    4: "同一投标人提交两个以上不同的投标文件或者投标报价，但招标文件要求提交备选投标的除外",
    5: "投标报价低于成本或者高于招标文件设定的最高投标限价",
    6: "投标文件没有对招标文件的实质性要求和条件作出响应",
    7: "投标人有串通投标、弄虚作假、行贿等违法行为",
}
REJECTION_SOURCE = "招标投标法实施条例 第五十一条"
ABOVE_MAX_PRICE_GROUND = 5


def rejection_grounds() -> list[dict[str, Any]]:
    """The mandatory rejection grounds as data, with their source."""
    return [{"ground": number, "text": text_, "source": REJECTION_SOURCE} for number, text_ in REJECTION_GROUNDS.items()]
