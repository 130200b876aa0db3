"""Demo data for a first start: the city of Jining, organisations of every role, users,
the sample expert and agency pools, a few credit records, and a few projects with
announcements. Loaded once; the check is the demo city's tendering party, so a second run
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.imports import import_agencies
from credit.departments import bind_department_account
from bidding.notice.announcements import publish_announcement
from bidding.tender.projects import register_project
from credit.records import enter_record
from expert_pool.experts import register_expert
from expert_pool.imports import import_experts
from trading.accounts import create_user
from trading.organisations import Organisation, register_organisation, register_region
from trading.roles import OrgRole, UserRole
from trading.rooms import EVALUATION, OPENING, add_room

DEMO_PASSWORD = "Demo#2026"
CITY_CODE = "370800"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: UserRole
    organisation: str | None  # credit code
    id_number: str | None = None


ORGANISATIONS = [
    ("12370800MB12345670", "济宁市第一人民医院", [OrgRole.TENDERING_PARTY]),
    ("11370800MB0000001E", "济宁市城市建设投资中心", [OrgRole.TENDERING_PARTY]),
    ("91370800MA3C5K8E74", "山东青山招标代理有限公司", [OrgRole.AGENCY]),
    ("91370800MA1234567Q", "济宁鲁建建设集团有限公司", [OrgRole.BIDDER]),
    ("91370811MA23456788", "任城宏远建筑工程有限公司", [OrgRole.BIDDER]),
    ("91370802MA3456789Q", "山东泰和医疗设备有限公司", [OrgRole.BIDDER]),
    ("12370800MB2345678H", "济宁学院", [OrgRole.EXPERT_EMPLOYER]),
]

ACCOUNTS = [
    DemoAccount("admin", "交易中心管理员", UserRole.ADMIN, None),
    DemoAccount("tenderer", "第一人民医院 采购办", UserRole.TENDERING_PARTY, "12370800MB12345670"),
    DemoAccount("agency", "青山招标 王经理", UserRole.AGENCY, "91370800MA3C5K8E74"),
    DemoAccount("bidder1", "鲁建集团 投标部", UserRole.BIDDER, "91370800MA1234567Q"),
    DemoAccount("bidder2", "宏远建筑 投标部", UserRole.BIDDER, "91370811MA23456788"),
    DemoAccount("bidder3", "泰和医疗 销售部", UserRole.BIDDER, "91370802MA3456789Q"),
    DemoAccount("expert", "李明（评标专家）", UserRole.EXPERT, "12370800MB2345678H", "370802198001011235"),
    DemoAccount("supervisor", "市住建局 监督员", UserRole.SUPERVISOR, None),
    DemoAccount("finance", "交易中心 财务", UserRole.FINANCE, None),
    DemoAccount("credit", "交易中心 信用管理", UserRole.CREDIT_OFFICER, None),
    DemoAccount("zhujian", "市住建局 信用报送", UserRole.DEPARTMENT, None),
]
# Department accounts and the department they push records for (credit/data departments).
DEPARTMENT_OF_ACCOUNT = {"zhujian": "住建"}

PROJECTS = [
    ("JN-2026-GC-0007", "济宁市第一人民医院新院区门诊楼施工总承包", "construction", "open_tender",
     "12370800MB12345670", 86_500_000_00),
    ("JN-2026-GC-0008", "城区老旧小区雨污分流改造工程（二期）", "construction", "open_tender",
     "11370800MB0000001E", 12_300_000_00),
    ("JN-2026-CG-0031", "济宁市第一人民医院医用直线加速器采购", "government_procurement", "public_tender",
     "12370800MB12345670", 2_980_000_00),
]


# The center's rooms (统一设施配备): code, name, kind, capacity, location.
ROOMS = [
    ("KB01", "第1开标室", OPENING, 60, "济宁市公共资源交易中心 三楼东"),
    ("KB02", "第2开标室", OPENING, 40, "济宁市公共资源交易中心 三楼西"),
    ("PB01", "第1评标室", EVALUATION, 12, "济宁市公共资源交易中心 四楼（评标区）"),
    ("PB02", "第2评标室", EVALUATION, 12, "济宁市公共资源交易中心 四楼（评标区）"),
    ("PB03", "第3评标室", EVALUATION, 20, "济宁市公共资源交易中心 四楼（评标区）"),
]


async def load_demo_rooms(session: AsyncSession, actor: str) -> None:
    for code, name, kind, capacity, location in ROOMS:
        await add_room(session, actor=actor, code=code, name=name, kind=kind, capacity=capacity, location=location)


SAMPLES = Path(__file__).resolve().parent.parent


async def load_demo_pools(session: AsyncSession, actor: str) -> None:
    """The shipped sample pools, and the demo expert account's own entry in the expert pool."""
    for importer, sample in ((import_experts, "expert_pool/samples/experts.csv"),
                             (import_agencies, "agency_pool/samples/agencies.csv")):
        path = SAMPLES / sample
        await importer(session, actor=actor, filename=path.name, data=path.read_bytes())
    demo_expert = next(account for account in ACCOUNTS if account.role == UserRole.EXPERT)
    await register_expert(session, actor=actor, name="李明", id_number=demo_expert.id_number,
                          employer_credit_code=demo_expert.organisation, employer_name="济宁学院",
                          specialties=["A0801", "A0601"], title="正高级", years_in_field=18, city_code=CITY_CODE,
                          phone="13905370999")


# (subject type, name, code, department, kind, act, decision number, days since effective,
#  days in force from then or None for an open end, categories)
CREDIT_RECORDS = [
    ("单位", "聊城恒基建筑安装工程有限公司", "91371500MA3LCJ091F", "住建", "collusive_bidding",
     "在聊城市某学校教学楼施工招标中与其他投标人相互串通投标报价", "聊住建罚字〔2026〕27号", 60, 730, ()),
    ("单位", "任城宏远建筑工程有限公司", "91370811MA23456788", "住建", "contract_refusal",
     "中标后无正当理由拒不与招标人订立施工合同", "济住建信〔2026〕3号", 90, 1095, ()),
    ("个人", "张建军", "371702196909012285", "法院", "court_defaulter",
     "有履行能力而拒不履行生效法律文书确定的给付义务", "（2026）鲁1702执588号", 30, None, ()),
]


async def load_demo_credit(session: AsyncSession, actor: str) -> None:
    """A bidder of another city blacklisted by 住建, a demo bidder with a record on the deposit
    negative list (so it must pay a deposit), and a court-listed defaulter (shown masked)."""
    today = await session.scalar(select(func.current_date()))
    for subject_type, name, code, department, kind, act, number, since, days, categories in CREDIT_RECORDS:
        start = today - timedelta(days=since)
        await enter_record(session, actor=actor, subject_type=subject_type, subject_key=code, subject_name=name,
                           department=department, kind=kind, act=act, decision_number=number,
                           effective_from=start, effective_to=start + timedelta(days=days) if days else None,
                           categories=categories, channel="demo")


async def demo_loaded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(Organisation.id).where(Organisation.credit_code == ORGANISATIONS[0][0])))


async def load_demo_data(session: AsyncSession, *, pools: bool = True) -> bool:
    """Load the demo city once; returns False when it was already there.

    ``pools=False`` leaves the expert and agency pools empty (for tests of the pools).
    """
    if await demo_loaded(session):
        return False
    actor = "system:demo"
    await register_region(session, actor=actor, code="370000", name="山东省")
    await register_region(session, actor=actor, code=CITY_CODE, name="济宁市", parent_code="370000")
    orgs = {}
    for code, name, roles in ORGANISATIONS:
        orgs[code] = await register_organisation(session, actor=actor, credit_code=code, name=name,
                                                 roles=[r.value for r in roles], region_code=CITY_CODE)
    for account in ACCOUNTS:
        await create_user(session, actor=actor, username=account.username, display_name=account.display_name,
                          role=account.role.value, password=DEMO_PASSWORD,
                          organisation_id=orgs[account.organisation].id if account.organisation else None,
                          id_number=account.id_number)
        if account.username in DEPARTMENT_OF_ACCOUNT:
            await bind_department_account(session, actor=actor, username=account.username,
                                          department=DEPARTMENT_OF_ACCOUNT[account.username])
    if pools:
        await load_demo_pools(session, actor)
    await load_demo_credit(session, actor)
    await load_demo_rooms(session, actor)
    for code, title, category, method, party, estimate in PROJECTS:
        project = await register_project(session, actor=actor, code=code, title=title, category=category, method=method,
                                         region_code=CITY_CODE, tendering_party_id=orgs[party].id, estimate_fen=estimate)
        await publish_announcement(session, actor=actor, project=project, kind="tender", title=f"{title}招标公告",
                                   body=f"项目编号：{code}。详见招标文件。")
    return True
