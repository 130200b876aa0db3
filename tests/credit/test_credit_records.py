"""Credit records: staff enter them, repair and revoke them with history kept, expiry goes
by time, departments push idempotently, files import all or nothing with every bad cell
reported, and bribery checks keep their evidence and audit trail."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from cli.demo import load_demo_data
from credit.bribery import (
    COURT_JUDGMENT_LOOKUP,
    WRITTEN_PLEDGE,
    ManualBriberyResult,
    PlatformRecordSource,
    bribery_checks_of,
    run_bribery_check,
)
from credit.checks import check_subject
from credit.departments import bind_department_account, department_of
from credit.evidence import EvidenceFile, evidence_of_record
from credit.facts import ProjectFacts
from credit.imports import IMPORT_COLUMNS, import_records
from credit.models import MAX_EVIDENCE_BYTES, BriberyCheck, CreditEvidence, CreditRecord, CreditRecordChange
from credit.publicity import public_restrictions
from credit.push import PushRejected, push_records
from credit.records import get_record, list_records, record_history, repair_record, revoke_record
from credit.reference import departments
from credit.subjects import Subject
from tests.common import factories
from tests.conftest import create_database_from_template, invoke_cli
from tests.common.credit_factories import credit_record, department_user, staff_user
from trading.audit import AuditEntry
from trading.database import make_engine, make_sessionmaker, run_as_server_admin, transaction, transaction_now
from trading.errors import Conflict, InvalidInput, PermissionDenied
from trading.roles import UserRole
from trading.spreadsheets import ImportRejected, RowError, read_rows, write_rows

SAMPLES = Path(__file__).resolve().parents[2] / "credit" / "samples"
SAMPLE = SAMPLES / "credit-records.csv"
SAMPLE_WITH_ERRORS = SAMPLES / "credit-records-with-errors.csv"
KEY = "统一社会信用代码/身份证号码"

# The report for credit/samples/credit-records-with-errors.csv, exactly (row 11 is blank).
EXPECTED_REPORT = [
    RowError(3, KEY, "统一社会信用代码校验位错误：第18位应为「1」，实为「0」"),
    RowError(4, "主体类型", "主体类型「公司」无效：应为单位或个人"),
    RowError(5, "主体名称", "主体名称不能为空"),
    RowError(5, "认定部门", "未知的认定部门「统计局」：应为住建、交通、水务、财政、自然资源、农业农村、发改、市场监管、"
                         "法院、检察院、人社、税务、应急管理之一"),
    RowError(6, KEY, "身份证号码校验位错误：第18位应为「4」，实为「0」"),
    RowError(7, "失信类型", "未知的失信类型「围标」：请使用信用数据文件中定义的类型名称或代码"),
    RowError(8, "失信行为", "失信行为不能为空"),
    RowError(8, "决定文书号", "决定文书号不能为空"),
    RowError(9, "生效日期", "生效日期「2026-13-01」无效：应为日期，如 2026-03-01"),
    RowError(10, "截止日期", "截止日期不得早于生效日期"),
    RowError(12, "限制交易类别", "未知的交易类别「水利工程」：应为工程建设、政府采购、土地和矿业权、国有产权之一，或留空表示全部类别"),
    RowError(12, "限制地区", "行政区划代码应为6位数字，实为「37080」"),
    RowError(13, "部门记录编号", "部门记录编号与第 2 行重复"),
]


async def count(session: AsyncSession, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def audit_actions(session: AsyncSession, subject: str) -> list[str]:
    return list((await session.scalars(select(AuditEntry.action).where(AuditEntry.subject == subject)
                                       .order_by(AuditEntry.seq))).all())


def facts(code: str = "JN-1", category: str = "construction", lookback: int | None = 3) -> ProjectFacts:
    return ProjectFacts(code=code, category=category, region_code="370811", estimate_fen=12_300_000_00,
                        requested_deposit_fen=None, deposit_max_basis_points=200, deposit_cap_fen=80_000_000,
                        bribery_lookback_years=lookback)


# ------------------------------------------------------------------------------ entry


async def test_staff_enter_a_record_with_its_severity_history_and_audit_entry(session):
    record = await credit_record(session, kind="串通投标（情节严重）", department="住房和城乡建设局",
                                 categories="工程建设、政府采购", region_codes=["370800"])
    assert (record.department_code, record.kind, record.severity) == ("housing", "collusive_bidding", "serious")
    assert record.categories == ["construction", "government_procurement"] and record.region_codes == ["370800"]
    assert record.status == "active" and record.channel == "portal"
    assert [change.action for change in await record_history(session, record.id)] == ["entered"]
    assert await audit_actions(session, f"credit_record:{record.id}") == ["credit.record_entered"]


async def test_the_same_decision_is_entered_once(session):
    record = await credit_record(session, decision_number="济住建罚〔2026〕1号")
    with pytest.raises(Conflict, match="已登记"):
        await credit_record(session, credit_code=record.subject_key, decision_number="济住建罚〔2026〕1号")


@pytest.mark.parametrize("overrides, field, message", [
    ({"subject_key": "91370800MA3CRC0310"}, "subject_key", "校验位错误"),
    ({"subject_type": "person", "subject_key": "370802197503124610"}, "subject_key", "身份证号码校验位错误"),
    ({"department": "统计局"}, "department", "未知的认定部门"),
    ({"kind": "围标"}, "kind", "未知的失信类型"),
    ({"act": " "}, "act", "失信行为不能为空"),
    ({"days": None, "effective_to": "2020-01-01"}, "effective_to", "截止日期不得早于生效日期"),
    ({"categories": ["水利"]}, "categories", "未知的交易类别"),
])
async def test_bad_values_are_refused_naming_the_field(session, overrides, field, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        await credit_record(session, **overrides)
    assert refused.value.details["field"] == field


async def test_a_persons_id_number_stays_out_of_the_audit_log(session):
    record = await credit_record(session, subject_type="个人", subject_key="370828198207061530", name="张伟",
                                 kind="失信被执行人", department="法院")
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"credit_record:{record.id}"))
    assert entry.data["subject_key"] == "3708**********1530"
    assert "370828198207061530" not in str(entry.data)


async def test_evidence_is_kept_with_its_digest_and_capped(session):
    record = await credit_record(session, evidence=[EvidenceFile("../处罚决定书.pdf", "application/pdf", b"%PDF-1.7 x")])
    [info] = await evidence_of_record(session, record.id)
    assert info.filename == "处罚决定书.pdf" and info.size_bytes == 10 and info.content_type == "application/pdf"
    assert info.sha256 == hashlib.sha256(b"%PDF-1.7 x").hexdigest()
    with pytest.raises(InvalidInput, match="超过 10 MiB"):
        await credit_record(session, evidence=[EvidenceFile("big.pdf", "application/pdf", b"x" * (MAX_EVIDENCE_BYTES + 1))])
    with pytest.raises(InvalidInput, match="空文件"):
        await credit_record(session, evidence=[EvidenceFile("empty.pdf", "application/pdf", b"")])


# ------------------------------------------------------------------ repair and revoke


async def test_repair_keeps_the_history_and_the_record_stops_deciding(session):
    record = await credit_record(session)
    assert not (await check_subject(session, project=facts(), subject_key=record.subject_key)).eligibility.admitted
    repaired = await repair_record(session, actor="test:officer", record_id=record.id, reason="已完成信用修复",
                                   document_number="济信修〔2026〕8号",
                                   evidence=[EvidenceFile("修复决定.pdf", "application/pdf", b"%PDF")])
    assert (repaired.status, repaired.status_reason, repaired.status_document) == ("repaired", "已完成信用修复", "济信修〔2026〕8号")
    history = await record_history(session, record.id)
    assert [(c.action, c.changes) for c in history] == [("entered", {"channel": "portal"}),
                                                         ("repaired", {"status": ["active", "repaired"]})]
    assert await audit_actions(session, f"credit_record:{record.id}") == [
        "credit.record_entered", "credit.record_repaired", "credit.evidence_stored"]
    assert (await check_subject(session, project=facts(), subject_key=record.subject_key)).eligibility.admitted
    with pytest.raises(Conflict, match="已信用修复"):
        await repair_record(session, actor="test", record_id=record.id, reason="再次修复")
    # A repaired record may still be revoked (entered in error); a revoked one is final.
    await revoke_record(session, actor="test", record_id=record.id, reason="录入错误")
    with pytest.raises(Conflict, match="已撤销"):
        await revoke_record(session, actor="test", record_id=record.id, reason="再次撤销")
    assert await count(session, CreditRecordChange, CreditRecordChange.record_id == record.id) == 3


async def test_repair_and_revocation_need_a_reason(session):
    record = await credit_record(session)
    with pytest.raises(InvalidInput, match="原因不能为空"):
        await repair_record(session, actor="test", record_id=record.id, reason="  ")
    with pytest.raises(InvalidInput, match="原因不能为空"):
        await revoke_record(session, actor="test", record_id=record.id, reason="")
    assert (await get_record(session, record.id)).status == "active"


async def test_expiry_is_by_time_with_no_job(session):
    code = factories.credit_code()
    expired = await credit_record(session, credit_code=code, name="济宁过期建设有限公司", days_ago=400, days=365)
    pending = await credit_record(session, credit_code=code, name="济宁过期建设有限公司", days_ago=-10, days=365)
    now = await transaction_now(session)
    assert (await get_record(session, expired.id)).status == "active"  # nothing rewrote it
    assert (await check_subject(session, project=facts(), subject_key=code)).eligibility.admitted
    assert [r.id for r in await list_records(session, query=code, status="expired")] == [expired.id]
    assert [r.id for r in await list_records(session, query=code, status="pending")] == [pending.id]
    assert await list_records(session, query=code, status="active") == []
    assert await public_restrictions(session, query=code) == []
    # Asked about a moment inside its period, the expired record decides.
    earlier = now - timedelta(days=200)
    assert not (await check_subject(session, project=facts(), subject_key=code, at=earlier)).eligibility.admitted
    assert len(await public_restrictions(session, query=code, at=earlier)) == 1


# ------------------------------------------------------------------------------- push


def pushed(record_id: str = "ZJ-2026-001", **overrides) -> dict:
    return {"record_id": record_id, "subject_type": "organisation", "subject_key": "91371700MA3NXA01J5",
            "subject_name": "菏泽恒通建设工程有限公司", "kind": "collusive_bidding",
            "act": "在菏泽市某道路工程施工招标中串通投标", "decision_number": "菏住建罚字〔2026〕12号",
            "effective_from": "2026-03-01", "effective_to": "2029-02-28", "categories": ["construction"]} | overrides


async def test_a_department_push_is_idempotent_on_its_record_id(session):
    user = await department_user(session, "housing")
    housing = await department_of(session, user)
    [first] = await push_records(session, actor="dept", department=housing, items=[pushed()])
    assert first.outcome == "created"
    record = await get_record(session, first.id)
    assert (record.department_code, record.department_record_id, record.channel) == ("housing", "ZJ-2026-001", "push")
    entries = await count(session, AuditEntry)
    [again] = await push_records(session, actor="dept", department=housing, items=[pushed()])
    assert (again.id, again.outcome) == (first.id, "unchanged")
    assert await count(session, AuditEntry) == entries + 1  # the push itself only
    assert await count(session, CreditRecord, CreditRecord.department_record_id == "ZJ-2026-001") == 1

    [corrected] = await push_records(session, actor="dept", department=housing,
                                     items=[pushed(effective_to="2028-02-29", region_codes=["371700"])])
    assert (corrected.id, corrected.outcome) == (first.id, "updated")
    change = (await record_history(session, first.id))[-1]
    assert change.action == "updated" and set(change.changes) == {"effective_to", "region_codes"}
    assert change.changes["region_codes"] == [[], ["371700"]]

    [repaired] = await push_records(session, actor="dept", department=housing,
                                    items=[pushed(effective_to="2028-02-29", region_codes=["371700"], status="repaired",
                                                  status_reason="信用修复完成", status_document="菏信修〔2026〕2号")])
    assert repaired.outcome == "updated" and (await get_record(session, first.id)).status == "repaired"
    with pytest.raises(PushRejected) as refused:
        await push_records(session, actor="dept", department=housing, items=[pushed(status="active")])
    assert refused.value.errors[0].reason == "记录已为「已信用修复」，不能改为「有效」"


async def test_the_same_record_id_of_another_department_is_another_record(session):
    housing = departments()["housing"]
    water = departments()["water"]
    [a] = await push_records(session, actor="dept", department=housing, items=[pushed("R-1")])
    [b] = await push_records(session, actor="dept", department=water, items=[pushed("R-1")])
    assert a.id != b.id and b.outcome == "created"


async def test_a_bad_push_writes_nothing_and_names_every_bad_item(session):
    housing = departments()["housing"]
    before = (await count(session, CreditRecord), await count(session, AuditEntry))
    with pytest.raises(PushRejected) as refused:
        await push_records(session, actor="dept", department=housing, items=[
            pushed("R-1"),
            pushed("R-2", subject_key="91371700MA3NXA01J4", kind="围标"),
            pushed("R-1", decision_number="另一个文号"),
            {"record_id": "R-4", "colour": "red"},
            pushed("", status="revoked"),
        ])
    assert [(e.index, e.field) for e in refused.value.errors] == [
        (2, "subject_key"), (2, "kind"), (3, "record_id"), (4, "colour"), (5, "record_id"), (5, "status_reason")]
    assert refused.value.code == "push_rejected"
    assert (await count(session, CreditRecord), await count(session, AuditEntry)) == before


async def test_a_department_account_is_bound_to_one_department(session):
    user = await department_user(session, "交通")
    assert (await department_of(session, user)).code == "transport"
    with pytest.raises(Conflict, match="已绑定"):
        await bind_department_account(session, actor="test", username=user.username, department="住建")
    officer = await factories.user(session, UserRole.BIDDER)
    with pytest.raises(InvalidInput, match="不是行业主管部门账号"):
        await bind_department_account(session, actor="test", username=officer.username, department="住建")
    unbound = await factories.user(session, UserRole.DEPARTMENT)
    with pytest.raises(PermissionDenied, match="未绑定"):
        await department_of(session, unbound)


# ----------------------------------------------------------------------------- import


async def import_sample(session: AsyncSession, path: Path = SAMPLE, **options):
    return await import_records(session, actor="test:officer", filename=path.name, data=path.read_bytes(), **options)


async def test_the_sample_file_imports_every_record_and_again_changes_nothing(session):
    summary = await import_sample(session)
    assert summary.rows == 6 and summary.new_rows == 6 and len(summary.entered) == 6
    records = [await get_record(session, record_id) for record_id in summary.entered]
    assert [r.subject_type for r in records] == ["organisation", "organisation", "person", "organisation",
                                                 "organisation", "organisation"]
    assert [r.severity for r in records] == ["serious", "serious", "serious", "minor", "serious", "minor"]
    assert records[2].effective_to is None and records[4].region_codes == ["370000"]
    assert all(r.channel == "import" for r in records)
    again = await import_sample(session)
    assert again.new_rows == 0 and sorted(again.unchanged) == sorted(summary.entered)
    assert "无变化 6 条" in again.describe()


async def test_the_error_file_is_rejected_with_every_bad_cell_reported_and_nothing_imported(session):
    before = (await count(session, CreditRecord), await count(session, AuditEntry))
    with pytest.raises(ImportRejected) as rejected:
        await import_sample(session, SAMPLE_WITH_ERRORS)
    assert rejected.value.errors == EXPECTED_REPORT
    assert rejected.value.message.startswith("导入未执行，文件中有 13 处错误：")
    # Row 2 was valid, but nothing is half-imported.
    assert (await count(session, CreditRecord), await count(session, AuditEntry)) == before


async def test_a_dry_run_and_an_xlsx_file(session):
    checked = await import_sample(session, dry_run=True)
    assert checked.dry_run and checked.new_rows == 6 and "试运行" in checked.describe()
    assert await count(session, CreditRecord) == 0
    table = list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
    data = write_rows("records.xlsx", table[0], table[1:])
    summary = await import_records(session, actor="test", filename="信用记录.xlsx", data=data)
    assert summary.new_rows == 6
    assert read_rows("records.xlsx", data, IMPORT_COLUMNS)[0].values["主体名称"] == "菏泽恒通建设工程有限公司"


async def test_an_imported_row_with_a_known_record_id_updates_that_record(session):
    first = await import_sample(session)
    table = list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
    table[1][9] = "2028-12-31"  # the first row's end date
    summary = await import_records(session, actor="test", filename="r.csv", data=write_rows("r.csv", table[0], table[1:]))
    assert summary.updated == [first.entered[0]] and len(summary.unchanged) == 5
    record = await get_record(session, first.entered[0])
    assert record.effective_to.date().isoformat() == "2028-12-31"  # 2029-01-01 00:00 Shanghai in UTC


async def test_a_row_clashing_with_a_recorded_decision_is_reported(session):
    await import_sample(session)
    table = list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
    table[1][4] = "HZ-ZJ-OTHER-ID"  # same decision, another record id
    with pytest.raises(ImportRejected) as rejected:
        await import_records(session, actor="test", filename="r.csv", data=write_rows("r.csv", table[0], table[1:2]))
    [error] = rejected.value.errors
    assert (error.row, error.column) == (2, "决定文书号") and "该决定已登记为信用记录" in error.reason


# ---------------------------------------------------------------------- bribery checks


def judgment_evidence() -> list[EvidenceFile]:
    return [EvidenceFile("裁判文书网查询结果.png", "image/png", b"\x89PNG...")]


async def test_a_court_judgment_found_by_hand_becomes_a_bribery_record_and_refuses(session):
    subject = Subject("organisation", factories.credit_code(), "济宁某建设有限公司")
    at = await transaction_now(session)
    found = ManualBriberyResult(outcome="found", method=COURT_JUDGMENT_LOOKUP, note="单位行贿罪，判处罚金",
                                evidence=judgment_evidence(), document_number="（2025）鲁08刑终99号",
                                judgment_date=(at - timedelta(days=400)).date())
    check = await run_bribery_check(session, actor="test:officer", project_code="JN-1", subject=subject,
                                    source=found, lookback_years=3, at=at)
    [record_id] = check.found_record_ids
    record = await get_record(session, record_id)
    assert (record.kind, record.department_code, record.channel) == ("bribery_crime", "court", "bribery_check")
    answer = (await check_subject(session, project=facts(), subject_key=subject.key)).eligibility
    assert not answer.admitted and "（2025）鲁08刑终99号" in answer.message and "追溯期内" in answer.message
    assert await count(session, CreditEvidence, CreditEvidence.bribery_check_id == check.id) == 1
    assert await audit_actions(session, f"bribery_check:{check.id}") == ["credit.evidence_stored", "credit.bribery_checked"]
    # The platform's own records now find it too.
    again = await run_bribery_check(session, actor="test", project_code="JN-1", subject=subject,
                                    source=PlatformRecordSource(), lookback_years=3, at=at)
    assert (again.outcome, again.found_record_ids) == ("found", [record_id])
    assert [c.id for c in await bribery_checks_of(session, "JN-1", subject)] == [check.id, again.id]


async def test_a_manual_result_needs_evidence_and_a_pledge_cannot_find_anything():
    with pytest.raises(InvalidInput, match="须附证明材料"):
        ManualBriberyResult(outcome="clear", method=WRITTEN_PLEDGE, note="书面承诺无行贿犯罪记录", evidence=[])
    with pytest.raises(InvalidInput, match="书面承诺只能"):
        ManualBriberyResult(outcome="found", method=WRITTEN_PLEDGE, note="x", evidence=judgment_evidence())
    with pytest.raises(InvalidInput, match="判决书文号"):
        ManualBriberyResult(outcome="found", method=COURT_JUDGMENT_LOOKUP, note="x", evidence=judgment_evidence())


async def test_a_written_pledge_is_a_clear_check_with_its_evidence(session):
    subject = Subject("organisation", factories.credit_code(), "济宁诚信建设有限公司")
    pledge = ManualBriberyResult(outcome="clear", method=WRITTEN_PLEDGE, note="投标人书面承诺近三年无行贿犯罪记录",
                                 evidence=[EvidenceFile("承诺书.pdf", "application/pdf", b"%PDF")])
    check = await run_bribery_check(session, actor="test", project_code="JN-2", subject=subject, source=pledge,
                                    lookback_years=3, at=await transaction_now(session))
    assert (check.outcome, check.method, check.found_record_ids) == ("clear", "written_pledge", [])
    assert await count(session, CreditRecord, CreditRecord.subject_key == subject.key) == 0
    assert await count(session, BriberyCheck, BriberyCheck.project_code == "JN-2") == 1


# ------------------------------------------------------------------------ command line


@pytest.fixture(scope="module")
async def cli_env(server_url, template_url, settings):
    url = await create_database_from_template(server_url, template_url, "credit_cli")
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await load_demo_data(session, pools=False)
    finally:
        await engine.dispose()
    yield {"DATABASE_URL": url, "TRADING_VAR_DIR": str(settings.var_dir), "TRADING_SIGNING_KEY": None,
           "TRADING_KEK": None}
    await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def run_cli(env, *args: str):
    return await anyio.to_thread.run_sync(invoke_cli, list(args), env)


async def test_the_command_line_imports_all_or_nothing(cli_env):
    rejected = await run_cli(cli_env, "credit", "import", str(SAMPLE_WITH_ERRORS))
    assert rejected.exit_code == 1
    lines = rejected.output.strip().splitlines()
    assert lines[0] == "导入未执行：文件 credit-records-with-errors.csv 中有 13 处错误："
    assert [line.strip() for line in lines[1:]] == [error.describe() for error in EXPECTED_REPORT]
    checked = await run_cli(cli_env, "credit", "import", "--dry-run", str(SAMPLE))
    assert checked.exit_code == 0 and "试运行" in checked.output and "新增记录 6 条" in checked.output
    imported = await run_cli(cli_env, "credit", "import", str(SAMPLE))
    assert imported.exit_code == 0 and "导入完成" in imported.output


async def test_the_command_line_checks_a_bidder_against_a_project(cli_env):
    # The demo's 任城宏远 has a record on the deposit negative list: admitted, with a deposit.
    deposit = await run_cli(cli_env, "credit", "check", "91370811MA23456788", "--project", "JN-2026-GC-0008")
    assert deposit.exit_code == 0, deposit.output
    assert "资格：准予报名" in deposit.output and "保证金：须缴纳，金额 24600000 分" in deposit.output
    assert "济住建信〔2026〕3号" in deposit.output
    clean = await run_cli(cli_env, "credit", "check", "91370800MA1234567Q", "--project", "JN-2026-GC-0008")
    assert clean.exit_code == 0 and "保证金：免交，金额 0 分" in clean.output
    # The demo's blacklisted bidder of another city is refused, exit 2.
    refused = await run_cli(cli_env, "credit", "check", "91371500MA3LCJ091F", "--project", "JN-2026-GC-0008")
    assert refused.exit_code == 2 and "资格：不予报名" in refused.output and "聊住建罚字〔2026〕27号" in refused.output
    unknown = await run_cli(cli_env, "credit", "check", "91370811MA23456788", "--project", "NOPE")
    assert unknown.exit_code == 1 and unknown.output.strip() == "错误：未找到项目 NOPE"


async def test_the_command_line_binds_a_department_account(cli_env):
    engine = make_engine(cli_env["DATABASE_URL"])
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await staff_user(session, UserRole.DEPARTMENT, "zhujian_api")
    finally:
        await engine.dispose()
    bound = await run_cli(cli_env, "credit", "bind-account", "zhujian_api", "住建")
    assert bound.exit_code == 0 and bound.output.strip() == "已绑定：用户 zhujian_api → 部门 housing"
    twice = await run_cli(cli_env, "credit", "bind-account", "zhujian_api", "交通")
    assert twice.exit_code == 1 and "已绑定部门" in twice.output
