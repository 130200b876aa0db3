"""Electronic receipts (电子票据) of the center's ledger: one signed PDF for every payment in
(a deposit received, a service fee paid) and every refund out.

A receipt's record (``ledger-receipt/1``) holds what the receipt says — number, kind,
project, payer or payee, amount (in figures and in capitals), account, bank reference and
dates — plus the SHA-256 of the PDF rendered from it; the center signs the canonical JSON
of the record (``CenterKeys.sign``). Anyone holding the PDF can check it on the public
verification page (``/verify/receipts/{number}``, the QR code on the PDF): the signature,
and that the PDF's SHA-256 is the one signed.

Receipt numbers carry 40 random bits: the verification page is public, and sequential
numbers would let anyone list who paid deposits for a tender still open (招标投标法
第二十二条 forbids disclosing potential bidders).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Integer, LargeBinary, String, UniqueConstraint, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import record_event
from trading.canonical import sha256_hex
from trading.columns import money_column, timestamp_column
from trading.database import database_now
from trading.errors import NotFound
from trading.keys import CenterKeys, verify_signature
from trading.money import yuan
from trading.pdf import qr_data_uri, render_pdf
from trading.timefmt import local_time

PROTOCOL = "ledger-receipt/1"
DEPOSIT, FEE, REFUND = "deposit", "fee", "refund"
KIND_NAMES = {DEPOSIT: "投标保证金收款收据", FEE: "交易服务费收款收据", REFUND: "投标保证金退款凭证"}


class Receipt(SQLModel, table=True):
    __tablename__ = "ledger_receipts"
    __table_args__ = (
        CheckConstraint("kind IN ('deposit', 'fee', 'refund')", name="ledger_receipts_kind_known"),
        UniqueConstraint("kind", "source_id", name="ledger_receipts_one_per_payment"),
        UniqueConstraint("number", name="ledger_receipts_number_unique"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(40), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    # The ledger row paid: ledger_deposits.id, ledger_fees.id or ledger_refunds.id.
    source_id: int = Field(sa_column=Column(Integer, nullable=False))
    project_code: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    party_credit_code: str = Field(sa_column=Column(String(18), nullable=False, index=True))  # payer, or refund payee
    amount_fen: int = Field(sa_column=money_column())
    record: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    signature: str = Field(sa_column=Column(String(128), nullable=False))
    key_id: str = Field(sa_column=Column(String(16), nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pdf_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    issued_at: datetime = Field(sa_column=timestamp_column(nullable=False))

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "kind": self.kind, "kind_name": KIND_NAMES[self.kind],
                "project_code": self.project_code, "party_credit_code": self.party_credit_code,
                "amount_fen": self.amount_fen, "issued_at": self.issued_at.isoformat(),
                "pdf_sha256": self.pdf_sha256, "signature": self.signature, "key_id": self.key_id,
                "record": self.record}


# ------------------------------------------------------------------------------ amounts

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _four_digits(group: int) -> str:
    text_, zero = "", False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(text_)
            continue
        if zero:
            text_ += "零"
            zero = False
        text_ += _DIGITS[digit] + _SMALL_UNITS[position]
    return text_


def amount_in_words(fen: int) -> str:
    """人民币大写金额 as 《支付结算办法》 writes it: 80000000 → 「捌拾万元整」, 100005 → 「壹仟元零伍分」."""
    if fen < 0:
        raise ValueError("negative amount")
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    groups = []
    while yuan:
        groups.append(yuan % 10_000)
        yuan //= 10_000
    if len(groups) > len(_BIG_UNITS):
        raise ValueError("amount too large")
    words, gap = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            gap = bool(words)
            continue
        if words and (gap or group < 1000):
            words += "零"
        words += _four_digits(group) + _BIG_UNITS[index]
        gap = False
    if words:
        words += "元"
    if jiao == 0 and cents == 0:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words:
        words += "零"
    # 支付结算办法: an amount ending in 元 or 角 is closed with 整.
    return words + (_DIGITS[cents] + "分" if cents else "整")


# ------------------------------------------------------------------------------ issuing


def receipt_url(public_url: str, number: str) -> str:
    return f"{public_url.rstrip('/')}/verify/receipts/{number}"


def new_number(now: datetime) -> str:
    return f"DZ{local_time(now, '%Y%m%d')}-{secrets.token_hex(5).upper()}"


async def receipt_for(session: AsyncSession, kind: str, source_id: int) -> Receipt | None:
    return await session.scalar(select(Receipt).where(Receipt.kind == kind, Receipt.source_id == source_id))


async def receipt_pdf(record: dict[str, Any], *, verify_key_hex: str) -> bytes:
    """The receipt as a PDF in Chinese, from its (unsigned) record; the signature covers its SHA-256."""
    return await render_pdf("receipt.html", record=record, qr=qr_data_uri(record["verify_url"]),
                            verify_key=verify_key_hex)


async def issue_receipt(
    session: AsyncSession, keys: CenterKeys, *, kind: str, source_id: int, project_code: str, project_title: str,
    party_credit_code: str, party_name: str, amount_fen: int, account: str, account_name: str, bank: str,
    bank_reference: str, value_date: str, details: list[list[str]], public_url: str, actor: str = "system",
) -> Receipt:
    """Render, sign and store the receipt of one ledger row (once: a second call answers the first).

    ``details`` are (label, text) pairs the receipt shows below the common fields (a list of
    pairs: canonical JSON allows only ASCII keys).
    """
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"receipt:{kind}:{source_id}"})
    existing = await receipt_for(session, kind, source_id)
    if existing is not None:
        return existing
    now = await database_now(session)
    number = new_number(now)
    url = receipt_url(public_url, number)
    record = {
        "protocol": PROTOCOL, "number": number, "kind": kind, "kind_name": KIND_NAMES[kind],
        "project_code": project_code, "project_title": project_title,
        "party": {"credit_code": party_credit_code, "name": party_name},
        "amount_fen": amount_fen, "amount_yuan": yuan(amount_fen), "amount_in_words": amount_in_words(amount_fen),
        "account": account, "account_name": account_name, "bank": bank, "bank_reference": bank_reference,
        "value_date": value_date, "details": details, "issued_at": local_time(now, "%Y-%m-%d %H:%M:%S"),
        "verify_url": url, "key_id": keys.key_id,
    }
    pdf = await receipt_pdf(record, verify_key_hex=keys.verify_key_hex)
    record["pdf_sha256"] = sha256_hex(pdf)
    receipt = Receipt(number=number, kind=kind, source_id=source_id, project_code=project_code,
                      party_credit_code=party_credit_code, amount_fen=amount_fen, record=record,
                      signature=keys.sign(record), key_id=keys.key_id, pdf=pdf, pdf_sha256=record["pdf_sha256"],
                      issued_at=now)
    session.add(receipt)
    await session.flush()
    await record_event(session, actor=actor, action="ledger.receipt_issued", subject=f"project:{project_code}",
                       data={"number": number, "kind": kind, "source_id": source_id, "amount_fen": amount_fen,
                             "pdf_sha256": receipt.pdf_sha256, "key_id": keys.key_id})
    return receipt


async def get_receipt(session: AsyncSession, number: str) -> Receipt:
    receipt = await session.scalar(select(Receipt).where(Receipt.number == (number or "").strip().upper()))
    if receipt is None:
        raise NotFound(f"未找到编号为 {number} 的电子票据", number=number)
    return receipt


def mask_account(account: str) -> str:
    return f"{'*' * max(len(account) - 4, 0)}{account[-4:]}" if account else ""


def verify_receipt(receipt: Receipt, verify_key_hex: str, pdf: bytes | None = None) -> dict[str, Any]:
    """What the public verification page shows: the signature check and, given a PDF, its hash check.

    The paying account is masked: the page is public; the signed record keeps it whole.
    """
    record = receipt.record
    signature_ok = verify_signature(record, receipt.signature, verify_key_hex)
    stored_ok = sha256_hex(receipt.pdf) == record.get("pdf_sha256")
    answer = {
        "number": receipt.number, "kind": receipt.kind, "kind_name": KIND_NAMES[receipt.kind],
        "project_code": record["project_code"], "project_title": record["project_title"],
        "party_name": record["party"]["name"], "amount_fen": record["amount_fen"],
        "amount_yuan": record["amount_yuan"], "amount_in_words": record["amount_in_words"],
        "account": mask_account(record["account"]), "value_date": record["value_date"],
        "issued_at": record["issued_at"], "pdf_sha256": record["pdf_sha256"], "signature": receipt.signature,
        "key_id": receipt.key_id, "verify_key": verify_key_hex, "signature_valid": signature_ok and stored_ok,
    }
    if pdf is not None:
        answer["pdf_matches"] = sha256_hex(pdf) == record["pdf_sha256"]
    return answer
