"""PDF documents on any machine the README's commands set up: award notices, receipts and
sealed draw sheets read in Chinese with the bundled Noto Sans SC alone, embedded and
subset, with every system font hidden (tests/conftest.py sets FONTCONFIG_FILE to a
configuration without fonts); a document that cannot be made is an error for its own
request, never the end of the server."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nacl.secret
import nacl.signing
import nacl.utils
import psutil
import pytest
from fontTools.ttLib import TTFont
from sqlalchemy import select

from bidding.award.notice_pdf import award_notice_pdf
from bidding.tender.registrations import register_bidder
from cli.demo import DEMO_PASSWORD
from tests.common import bids
from tests.common.live_server import LiveServer
from tests.common.pdfs import assert_only_the_bundled_font, pdf_text
from tests.common.tenders import tender_project
from trading.database import make_sessionmaker, transaction
from trading.draw_sheet import draw_sheet_pdf
from trading.draws import REVEALED, Draw
from trading.keys import CenterKeys, load_center_keys
from trading.ledger import LedgerDeposit
from trading.pdf import TEMPLATES, font_files, in_rendering_process, make_pdf
from trading.receipts import Receipt, amount_in_words, receipt_pdf
from trading.settings import get_settings

NO_FONTS = Path(__file__).resolve().parents[1] / "fontconfig" / "no-system-fonts.conf"
# Names with rare characters, as people and firms have them: 䶮 (CJK extension A), 𬌗
# (extension E, in the 通用规范汉字表), 堃 and 喆 (common in given names).
RARE_NAME = "济宁𬌗䶮堃喆建设集团有限公司"
EXPERT_NAME = "刘䶮"
PDF_MAX_BYTES = 150_000


@pytest.fixture(scope="module")
def center() -> CenterKeys:
    return CenterKeys(signing_key=nacl.signing.SigningKey.generate(), kek=nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE))


def receipt_record() -> dict:
    """A deposit receipt's record as trading.receipts.issue_receipt writes it."""
    return {
        "protocol": "ledger-receipt/1", "number": "DZ20261207-0000000001", "kind": "deposit",
        "kind_name": "投标保证金收款收据", "project_code": "JN-2026-GC-0001", "project_title": "济宁市测试道路工程",
        "party": {"credit_code": "91370800MA3C7XYZ1K", "name": RARE_NAME}, "amount_fen": 1_234_500,
        "amount_yuan": "12,345.00", "amount_in_words": amount_in_words(1_234_500), "account": "6222023700005555",
        "account_name": RARE_NAME, "bank": "中国建设银行济宁分行", "bank_reference": "RCPT-1",
        "value_date": "2026-11-20", "details": [["款项", "投标保证金"], ["入账方式", "财务人工确认"]],
        "issued_at": "2026-12-07 10:00:00", "verify_url": "http://127.0.0.1:8000/verify/receipts/DZ20261207-0000000001",
        "key_id": "k1",
    }


async def award_notice(center: CenterKeys) -> bytes:
    record = {
        "protocol": "award-notice/1", "number": "ZB20261207-000001", "project_code": "JN-2026-GC-0001",
        "project_title": "济宁市测试道路工程", "tendering_party": {"name": "济宁市交通运输局", "credit_code": "11370800004"},
        "winner": {"name": RARE_NAME, "credit_code": "91370800MA3C7XYZ1K"}, "rank": 1, "price_fen": 86_500_000_00,
        "score": "92.50", "basis": "first_candidate", "choice_reason": None, "rule_set": "construction@1",
        "issued_at": "2026-12-07T02:00:00+00:00", "key_id": center.key_id,
        "verify_url": "http://127.0.0.1:8000/verify/award-notices/ZB20261207-000001",
    }
    return await award_notice_pdf(record, verify_key_hex=center.verify_key_hex, issued_at=datetime(2026, 12, 7, 2, tzinfo=UTC),
                                  contract_days=30, contract_source="《中华人民共和国招标投标法》第四十六条")


async def draw_sheet(center: CenterKeys) -> bytes:
    moment = datetime(2026, 12, 7, 2, tzinfo=UTC)
    draw = Draw(id=1, draw_id="D-2026-000001", purpose="expert", project_code="JN-2026-GC-0001",
                pool=["E001", "E002", "E003"], count=2, reserve_count=1,
                commit_record={"committed_at": "2026-12-07T02:00:00.000000Z", "pool_size": 3, "count": 2,
                               "reserve_count": 1, "criteria": {"specialty": "A0801"}, "pool_digest": "ab" * 32,
                               "commitment": "cd" * 32},
                commit_signature="ef" * 64, sealed_seed=b"", witness_required=True, witness_value="监督员现场输入 4711",
                witness_by="监督员 王喆", witness_at=moment + timedelta(minutes=1),
                reveal_record={"revealed_at": "2026-12-07T02:05:00.000000Z", "selected": ["E002", "E001"],
                               "reserves": ["E003"], "center_seed": "01" * 32},
                reveal_signature="23" * 64, status=REVEALED)
    return await draw_sheet_pdf(draw, center, public_url="http://127.0.0.1:8000",
                                names={"E002": EXPERT_NAME, "E001": "王堃", "E003": "张喆"})


async def receipt(center: CenterKeys) -> bytes:
    return await receipt_pdf(receipt_record(), verify_key_hex=center.verify_key_hex)


# What each kind of document must show: its title, the names with rare characters, amounts in capitals.
DOCUMENTS = {
    "award_notice.html": (award_notice, ["中标通知书", RARE_NAME, "确定你单位为中标人", "86,500,000.00"]),
    "receipt.html": (receipt, ["投标保证金收款收据", RARE_NAME, "人民币壹万贰仟叁佰肆拾伍元整"]),
    "draw_sheet.html": (draw_sheet, ["评标专家抽取结果密封单", f"{EXPERT_NAME}（E002）", "王堃（E001）", "备选"]),
}


def test_every_template_is_a_document_checked_here():
    assert {path.name for path in TEMPLATES.glob("*.html")} == set(DOCUMENTS)


@pytest.mark.parametrize("template", sorted(DOCUMENTS))
async def test_each_document_reads_in_chinese_with_the_bundled_font_alone(template, center):
    make, shown = DOCUMENTS[template]
    pdf = await make(center)
    text = pdf_text(pdf)
    for words in shown:
        assert words in re.sub(r"\s", "", text) or words in text, (words, text)
    fonts = assert_only_the_bundled_font(pdf)
    assert len(pdf) < PDF_MAX_BYTES, len(pdf)
    assert {font.family for font in fonts} == {"Noto Sans SC"}


def _system_font_count() -> int:
    """In a rendering process: how many fonts fontconfig offers there besides a document's own."""
    from weasyprint.text.ffi import fontconfig

    config = fontconfig.FcInitLoadConfigAndFonts()
    try:
        return fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem).nfont
    finally:
        fontconfig.FcConfigDestroy(config)


async def test_the_documents_are_made_where_no_system_font_exists():
    assert await in_rendering_process(_system_font_count) == 0


async def test_text_naming_a_system_font_or_written_as_entities_gets_the_bundled_font():
    html = ("<html><body><p style='font-family: \"DejaVu Sans\", \"Noto Sans CJK SC\", monospace'>"
            "Latin 0123 中文 ￥ 甲&mdash;乙</p></body></html>")
    faces = tuple((weight, str(path)) for weight, path in font_files(get_settings().font_dir).items())
    pdf = await in_rendering_process(make_pdf, html, faces)
    assert "中文" in pdf_text(pdf) and "甲—乙" in pdf_text(pdf)
    assert_only_the_bundled_font(pdf)


def test_the_bundled_font_has_every_character_our_documents_use():
    def gb(codec: str, first: range, second: range) -> set[str]:
        found = set()
        for high in first:
            for low in second:
                try:
                    found.add(bytes([high, low]).decode(codec))
                except UnicodeDecodeError:
                    pass
        return found

    templates = "".join(path.read_text() for path in TEMPLATES.glob("*.html"))
    capitals = "".join(amount_in_words(fen) for fen in (12_345_678_901, 100_005, 1_530, 10_001_000_000, 0))
    hanzi_of_gbk = {c for c in gb("gbk", range(0x81, 0xFF), range(0x40, 0xFF)) if "\u4e00" <= c <= "\u9fff"}
    assert len(hanzi_of_gbk) > 20_000
    needed = (gb("gb2312", range(0xA1, 0xFF), range(0xA1, 0xFF)) | hanzi_of_gbk | set(templates) | set(capitals)
              | set(RARE_NAME) | set(EXPERT_NAME) | set("￥¥—·「」『』《》（），、。：；！？“”‘’…％"))
    for path in font_files(get_settings().font_dir).values():
        cmap = TTFont(path, lazy=True)["cmap"].getBestCmap()
        missing = sorted(c for c in needed if c.isprintable() and not c.isspace() and ord(c) not in cmap)
        assert missing == [], (path.name, missing)


async def test_a_rendering_process_that_dies_fails_only_its_own_document(center):
    # A process that dies (as Pango kills it when it finds no usable font) beside a document
    # being made: that one still comes out; the call that died gets an error; the next works.
    dying, made = await asyncio.gather(in_rendering_process(signal.raise_signal, signal.SIGKILL), receipt(center),
                                       return_exceptions=True)
    assert isinstance(dying, BrokenProcessPool)
    assert isinstance(made, bytes) and "投标保证金收款收据" in pdf_text(made)
    assert "中标通知书" in pdf_text(await award_notice(center))


def test_without_pango_the_operator_is_told_what_to_install():
    # Pango hidden (an empty file bound over the library, in a mount namespace of its own):
    # as on a minimal Debian without libpango-1.0-0.
    libraries = [path.resolve() for pattern in ("/usr/lib/*/libpango-1.0.so.0", "/usr/lib*/libpango-1.0.so.0")
                 for path in Path("/").glob(pattern.lstrip("/"))]
    if not libraries or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("hiding Pango needs a mount namespace (unshare -m, as root)")
    script = ("import asyncio; from trading.pdf import pdf_problems; from trading.settings import get_settings;\n"
              "print(*asyncio.run(pdf_problems(get_settings().font_dir)), sep='\\n')")
    hide = f"mount --bind /dev/null {libraries[0]} && exec {sys.executable} -c \"$0\""
    answer = subprocess.run(["unshare", "-m", "sh", "-c", hide, script], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).resolve().parents[2])
    assert "缺少 PDF 排版所需的系统库 Pango" in answer.stdout and "libpangoft2-1.0-0" in answer.stdout, answer


# ---------------------------------------------------------------------------- through the real server

class ServerWithoutFonts(LiveServer):
    """`trading serve` on a machine with no usable font: none in the system, the bundled one absent."""

    def __init__(self, *args, font_dir: Path, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.font_dir = font_dir

    def env(self) -> dict[str, str]:
        return {**super().env(), "FONTCONFIG_FILE": str(NO_FONTS), "TRADING_FONT_DIR": str(self.font_dir)}


@pytest.fixture
async def tender_with_bidder(demo, engine, settings) -> str:
    """A tender in bidding with demo bidder1 registered: its deposit is confirmed in the tests."""
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, load_center_keys(settings), "bidding")
        await register_bidder(session, actor="test", project_code=tender.code, bidder_credit_code=bids.LUJIAN)
        return tender.code


def deposit(code: str, reference: str) -> dict:
    return {"project_code": code, "bidder_credit_code": bids.LUJIAN, "amount_fen": 1_234_500,
            "account": "6222 0237 0000 5555", "account_name": "鲁建集团", "bank_reference": reference,
            "value_date": "2026-11-20"}


async def deposits_of(engine, code: str) -> list[LedgerDeposit]:
    async with make_sessionmaker(engine)() as session:
        return list((await session.scalars(select(LedgerDeposit).where(LedgerDeposit.project_code == code))).all())


async def test_with_no_usable_font_a_receipt_is_refused_clearly_and_the_server_keeps_serving(
        tender_with_bidder, engine, settings, database_url, tmp_path):
    code = tender_with_bidder
    server = ServerWithoutFonts(settings, database_url, font_dir=tmp_path / "no-fonts").start()
    try:
        assert "警告：未找到 PDF 文件所需的内置中文字体" in server.output()
        finance = {"Authorization": f"Bearer {server.token('finance', DEMO_PASSWORD)}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            refused = await client.post("/api/ledger/deposits", headers=finance, json=deposit(code, "NOFONT-1"))
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "300"
            error = refused.json()["error"]
            assert error["code"] == "pdf_unavailable" and "暂时无法生成文件" in error["message"]
            assert not re.search(r"[A-Za-z]", error["message"])
            assert await deposits_of(engine, code) == []  # 503: nothing was done, the clerk tries again

            assert server.process.poll() is None
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/tenders")).status_code == 200
    finally:
        server.stop()


def rendering_processes(server: LiveServer) -> list[psutil.Process]:
    children = psutil.Process(server.process.pid).children(recursive=True)
    return [child for child in children if "spawn_main" in " ".join(child.cmdline())]


async def test_a_killed_rendering_process_costs_no_receipt(tender_with_bidder, engine, settings, database_url):
    code = tender_with_bidder
    server = LiveServer(settings, database_url).start()
    try:
        assert "警告" not in server.output()
        renderers = rendering_processes(server)
        assert renderers, "the server makes PDFs in child processes, started with it"
        for process in renderers:
            process.kill()
        psutil.wait_procs(renderers, timeout=10)

        finance = {"Authorization": f"Bearer {server.token('finance', DEMO_PASSWORD)}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            confirmed = await client.post("/api/ledger/deposits", headers=finance, json=deposit(code, "KILLED-1"))
            assert confirmed.status_code == 201, confirmed.text
            async with make_sessionmaker(engine)() as session:
                stored = await session.scalar(select(Receipt).where(Receipt.project_code == code))
            assert stored is not None and "人民币壹万贰仟叁佰肆拾伍元整" in pdf_text(stored.pdf)
            assert_only_the_bundled_font(stored.pdf)
        assert server.process.poll() is None
    finally:
        server.stop()
