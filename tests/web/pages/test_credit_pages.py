"""Credit pages and API: the public credit publicity shows exactly the restrictions in force,
masked; the credit staff's pages and API enter, import, repair and revoke; departments push;
every other role is turned away."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.demo import DEMO_PASSWORD, load_demo_data
from credit.models import CreditRecord
from credit.records import repair_record, revoke_record
from credit.departments import bind_department_account
from tests.common.credit_factories import credit_record
from tests.common.portal import bearer, csrf_token_from, log_in
from trading.accounts import create_user
from trading.database import make_sessionmaker, transaction
from trading.roles import UserRole
from trading.settings import Settings
from web.app import create_app

SAMPLES = Path(__file__).resolve().parents[3] / "credit" / "samples"
PERSON_ID = "370828198207061530"
ROW = re.compile(r"<tr>\s*<td>(.*?)<span class=\"tag\">", re.S)


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
        for username, role in (("officer", UserRole.CREDIT_OFFICER), ("dept_unbound", UserRole.DEPARTMENT),
                               ("shuiwu_api", UserRole.DEPARTMENT)):
            await create_user(session, actor="test", username=username, display_name="信用科", role=role.value,
                              password=DEMO_PASSWORD)
        await bind_department_account(session, actor="test", username="shuiwu_api", department="水务")
        await credit_record(session, name="济宁在列建设有限公司", kind="串通投标（情节严重）")
        repaired = await credit_record(session, name="济宁已修复建设有限公司")
        await repair_record(session, actor="test", record_id=repaired.id, reason="信用修复")
        revoked = await credit_record(session, name="济宁已撤销建设有限公司")
        await revoke_record(session, actor="test", record_id=revoked.id, reason="录入错误")
        await credit_record(session, name="济宁已过期建设有限公司", days_ago=800, days=365)
        await credit_record(session, name="济宁未生效建设有限公司", days_ago=-5)
        await credit_record(session, name="济宁一般失信建设有限公司", kind="无正当理由放弃中标资格")
        await credit_record(session, subject_type="个人", subject_key=PERSON_ID, name="张伟", kind="失信被执行人",
                            department="法院", days=None)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def anonymous(client: AsyncTestClient) -> None:
    client.cookies.clear()


# ----------------------------------------------------------------------------- public


async def test_the_public_page_shows_exactly_the_restrictions_in_force_masked(client):
    page = await client.get("/credit")
    assert page.status_code == 200 and "信用公示" in page.text
    shown = [name.strip() for name in ROW.findall(page.text)]
    # Demo: the blacklisted bidder of another city and the court-listed defaulter; here: one more of each.
    assert sorted(shown) == sorted(["聊城恒基建筑安装工程有限公司", "张**", "济宁在列建设有限公司", "张*"])
    for absent in ("济宁已修复建设", "济宁已撤销建设", "济宁已过期建设", "济宁未生效建设", "济宁一般失信建设", "任城宏远",
                   "张伟", "张建军", PERSON_ID, "371702196909012285"):
        assert absent not in page.text
    assert "3708**********1530" in page.text
    assert "住房和城乡建设局" in page.text and "串通投标（情节严重）" in page.text and "聊住建罚字〔2026〕27号" in page.text
    assert "起长期有效" in page.text


async def test_the_public_page_searches_by_name_or_credit_code(client):
    by_name = await client.get("/credit", params={"q": "聊城恒基"})
    assert [n.strip() for n in ROW.findall(by_name.text)] == ["聊城恒基建筑安装工程有限公司"]
    by_code = await client.get("/credit", params={"q": "91371500ma3lcj091f"})
    assert [n.strip() for n in ROW.findall(by_code.text)] == ["聊城恒基建筑安装工程有限公司"]
    nothing = await client.get("/credit", params={"q": "济宁已修复"})
    assert ROW.findall(nothing.text) == [] and "未查询到「济宁已修复」正在生效的失信限制" in nothing.text
    answer = await client.get("/api/credit/restrictions", params={"q": "张"})
    assert answer.status_code == 200
    assert sorted(item["subject_name"] for item in answer.json()) == ["张*", "张**"]
    assert all("*" in item["subject_key"] for item in answer.json())


# ------------------------------------------------------------------------- role guards


@pytest.mark.parametrize("path", ["/credit/records", "/credit/records/new", "/credit/import"])
async def test_staff_pages_need_a_credit_officer_or_administrator(client, path):
    anonymous = await client.get(path, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and anonymous.headers["location"].startswith("/login")
    await log_in(client, "bidder1")
    assert (await client.get(path)).status_code == 403
    client.cookies.clear()
    await log_in(client, "admin")
    assert (await client.get(path)).status_code == 200
    client.cookies.clear()
    await log_in(client, "officer")
    assert (await client.get(path)).status_code == 200


async def test_the_api_turns_other_roles_away(client):
    assert (await client.get("/api/credit/records")).status_code == 401
    for username in ("bidder1", "supervisor", "shuiwu_api"):
        answer = await client.get("/api/credit/records", headers=await bearer(client, username))
        assert answer.status_code == 403, username
    push = await client.post("/api/credit/push", json={"records": []}, headers=await bearer(client, "officer"))
    assert push.status_code == 403
    unbound = await client.post("/api/credit/push", json={"records": [{"record_id": "x"}]},
                                headers=await bearer(client, "dept_unbound"))
    assert unbound.status_code == 403 and "未绑定行业主管部门" in unbound.json()["error"]["message"]


# ------------------------------------------------------------------------- staff pages


async def test_an_officer_enters_repairs_and_revokes_through_the_portal(client, engine):
    await log_in(client, "officer")
    token = await csrf_token_from(client, "/credit/records/new")
    form = {"_csrf_token": token, "subject_type": "organisation", "subject_name": "济宁门户录入建设有限公司",
            "subject_key": "91370882MA3QFG071C", "department": "housing", "kind": "bid_fraud",
            "act": "伪造业绩骗取中标", "decision_number": "济住建罚〔2026〕77号", "effective_from": "2026-01-01",
            "effective_to": "", "categories": "construction", "region_codes": "", "department_record_id": ""}
    entered = await client.post("/credit/records", data=form,
                                files={"evidence": ("决定书.pdf", b"%PDF-1.7", "application/pdf")},
                                follow_redirects=False)
    assert entered.status_code in (302, 303), entered.text
    location = entered.headers["location"]
    page = await client.get(location)
    assert page.status_code == 200
    for shown in ("济宁门户录入建设有限公司", "弄虚作假骗取中标（情节严重）", "济住建罚〔2026〕77号", "2026-01-01 起长期有效",
                  "决定书.pdf", "工程建设；全部地区", "录入"):
        assert shown in page.text
    assert "济宁门户录入建设有限公司" in (await client.get("/credit")).text

    bad = await client.post("/credit/records", data={**form, "decision_number": "济住建罚〔2026〕78号",
                                                     "subject_key": "91370882MA3QFG0710"},
                            files={"evidence": ("", b"", "application/octet-stream")})
    assert bad.status_code == 400 and "校验位错误" in bad.text and "济住建罚〔2026〕78号" in bad.text

    token = await csrf_token_from(client, location)
    repaired = await client.post(f"{location}/repair", data={"_csrf_token": token, "reason": "已完成信用修复",
                                                            "document_number": "济信修〔2026〕9号"},
                                 files={"evidence": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert repaired.status_code in (302, 303)
    page = await client.get(location)
    assert "已信用修复" in page.text and "济信修〔2026〕9号" in page.text
    assert "济宁门户录入建设有限公司" not in (await client.get("/credit")).text

    again = await client.post(f"{location}/repair", data={"_csrf_token": token, "reason": "再来"},
                              files={"evidence": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert "error=" in again.headers["location"]
    revoked = await client.post(f"{location}/revoke", data={"_csrf_token": token, "reason": "录入错误"},
                                files={"evidence": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert revoked.status_code in (302, 303)
    async with engine.connect() as conn:
        status = await conn.scalar(select(CreditRecord.status).where(CreditRecord.decision_number == "济住建罚〔2026〕77号"))
    assert status == "revoked"

    listed = await client.get("/credit/records", params={"status": "revoked", "q": "门户录入"})
    assert "济宁门户录入建设有限公司" in listed.text and "已撤销" in listed.text


async def test_the_import_page_shows_the_per_row_report(client):
    await log_in(client, "officer")
    token = await csrf_token_from(client, "/credit/import")
    bad = SAMPLES / "credit-records-with-errors.csv"
    rejected = await client.post("/credit/import", data={"_csrf_token": token},
                                 files={"file": (bad.name, bad.read_bytes(), "text/csv")})
    assert rejected.status_code == 400
    assert "导入未执行：文件 credit-records-with-errors.csv 中有 13 处错误" in rejected.text
    assert rejected.text.count("<tr><td>") == 13 and "部门记录编号与第 2 行重复" in rejected.text
    good = SAMPLES / "credit-records.csv"
    checked = await client.post("/credit/import", data={"_csrf_token": token, "dry_run": "1"},
                                files={"file": (good.name, good.read_bytes(), "text/csv")})
    assert checked.status_code == 200 and "检查通过，未写入（试运行）" in checked.text


# -------------------------------------------------------------------------------- API


async def test_the_api_enters_lists_repairs_and_revokes(client):
    officer = await bearer(client, "officer")
    entry = {"subject_type": "person", "subject_key": "370802197503124614", "subject_name": "李强",
             "department": "court", "kind": "court_defaulter", "act": "拒不履行", "decision_number": "（2026）鲁0811执9号",
             "effective_from": "2026-06-01"}
    created = await client.post("/api/credit/records", json=entry, headers=officer)
    assert created.status_code == 201, created.text
    record = created.json()
    assert (record["severity"], record["shown_status"], record["channel"]) == ("serious", "active", "api")
    listed = await client.get("/api/credit/records", params={"kind": "失信被执行人", "status": "active",
                                                             "q": "李强"}, headers=officer)
    assert [item["id"] for item in listed.json()] == [record["id"]]
    repaired = await client.post(f"/api/credit/records/{record['id']}/repair", json={"reason": "已履行"}, headers=officer)
    assert repaired.status_code == 200 and repaired.json()["shown_status"] == "repaired"
    again = await client.post(f"/api/credit/records/{record['id']}/repair", json={"reason": "x"}, headers=officer)
    assert again.status_code == 409
    revoked = await client.post(f"/api/credit/records/{record['id']}/revoke", json={"reason": "错误"}, headers=officer)
    assert revoked.json()["status"] == "revoked"
    detail = await client.get(f"/api/credit/records/{record['id']}", headers=officer)
    assert [change["action"] for change in detail.json()["history"]] == ["entered", "repaired", "revoked"]
    evidence = await client.post(f"/api/credit/records/{record['id']}/evidence", headers=officer,
                                 files={"file": ("撤销决定.pdf", b"%PDF-1.4", "application/pdf")})
    assert evidence.status_code == 201 and evidence.json()["size_bytes"] == 8


async def test_a_department_pushes_through_the_api_idempotently(client):
    dept = await bearer(client, "shuiwu_api")
    item = {"record_id": "SW-2026-0042", "subject_type": "organisation", "subject_key": "91371300MA3LYF061P",
            "subject_name": "临沂鼎盛水利工程有限公司", "kind": "bid_fraud", "act": "伪造业绩",
            "decision_number": "济水建罚〔2026〕42号", "effective_from": "2026-08-01", "effective_to": "2029-07-31"}
    first = await client.post("/api/credit/push", json={"records": [item]}, headers=dept)
    assert first.status_code == 200, first.text
    assert first.json()["department"] == "water" and first.json()["records"][0]["outcome"] == "created"
    second = await client.post("/api/credit/push", json={"records": [item]}, headers=dept)
    assert second.json()["records"][0] == {**first.json()["records"][0], "outcome": "unchanged"}
    bad = await client.post("/api/credit/push", json={"records": [{**item, "kind": "围标"}]}, headers=dept)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "push_rejected"
    assert bad.json()["error"]["details"]["errors"] == [
        {"item": 1, "field": "kind", "reason": "未知的失信类型「围标」：请使用信用数据文件中定义的类型名称或代码"}]


async def test_the_api_import_and_preview(client):
    officer = await bearer(client, "officer")
    bad = SAMPLES / "credit-records-with-errors.csv"
    rejected = await client.post("/api/credit/import", headers=officer,
                                 files={"file": (bad.name, bad.read_bytes(), "text/csv")})
    assert rejected.status_code == 400 and len(rejected.json()["error"]["details"]["errors"]) == 13
    preview = await client.get("/api/credit/preview", headers=officer,
                               params={"project": "JN-2026-GC-0008", "subject": "91370811MA23456788"})
    assert preview.status_code == 200
    body = preview.json()
    assert body["eligibility"]["admitted"] and body["deposit"]["required"]
    assert body["deposit"]["amount_fen"] == 24_600_000
    blacklisted = await client.get("/api/credit/preview", headers=officer,
                                   params={"project": "JN-2026-GC-0008", "subject": "91371500MA3LCJ091F"})
    assert not blacklisted.json()["eligibility"]["admitted"]
    assert blacklisted.json()["eligibility"]["deciding_records"][0]["decision_number"] == "聊住建罚字〔2026〕27号"


async def test_the_api_records_a_manual_bribery_check_with_evidence(client):
    officer = await bearer(client, "officer")
    answer = await client.post("/api/credit/bribery-checks", headers=officer, data={
        "project_code": "JN-2026-GC-0008", "subject_key": "91370800MA1234567Q", "subject_name": "济宁鲁建建设集团有限公司",
        "method": "written_pledge", "outcome": "clear", "note": "投标人书面承诺近三年无行贿犯罪记录"},
        files={"file": ("承诺书.pdf", b"%PDF-1.4", "application/pdf")})
    assert answer.status_code == 201, answer.text
    assert answer.json()["outcome"] == "clear" and answer.json()["method"] == "written_pledge"
    refused = await client.post("/api/credit/bribery-checks", headers=officer, data={
        "project_code": "JN-2026-GC-0008", "subject_key": "91370800MA1234567Q", "subject_name": "济宁鲁建建设集团有限公司",
        "method": "written_pledge", "outcome": "found", "note": "x"},
        files={"file": ("承诺书.pdf", b"%PDF-1.4", "application/pdf")})
    assert refused.status_code == 400 and "书面承诺只能" in refused.json()["error"]["message"]
