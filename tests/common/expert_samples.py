"""The expert pool's sample import files and what the import must report on the bad one."""

from __future__ import annotations

import csv
import io
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "expert_pool" / "samples"
SAMPLE = SAMPLES / "experts.csv"
WITH_ERRORS = SAMPLES / "experts-with-errors.csv"

# Every bad cell of experts-with-errors.csv: (row, column, part of the reason).
EXPECTED_ERRORS = [
    (3, "身份证号码", "校验位错误"),
    (4, "工作单位统一社会信用代码", "校验位错误"),
    (5, "专业代码", "专业代码不存在：A9999"),
    (6, "职称", "职称「教授」无效"),
    (7, "所在城市", "前两位不是省级行政区划代码"),
    (8, "联系电话", "联系电话格式错误"),
    (9, "身份证号码", "与第 2 行的身份证号码重复"),
    (10, "姓名", "姓名不能为空"),
    (10, "从业年限", "从业年限「abc」无效"),
]


def sample_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
