"""The public verification pages the QR codes point to: an award notice's (its signature,
and a PDF or hash given checked against it) and a receipt's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.award_notice import award_notice_bundle, get_award_notice
from bidding.award.notice_pdf import BASIS_NAMES
from bidding.award.verification import verify_award_notice
from trading.money import yuan
from trading.receipts import get_receipt, verify_receipt
from trading.timefmt import local_time
from web.core.state import AppContext


MAX_PDF_BYTES = 20 * 1024 * 1024


@dataclass
class PdfUpload:
    file: UploadFile | None = None


class AwardVerificationPageController(Controller):
    path = "/verify/award-notices"
    include_in_schema = False

    async def _page(self, number: str, session: AsyncSession, context: AppContext, *, pdf: bytes | None,
                    sha256: str | None) -> Template:
        notice = await get_award_notice(session, number)
        bundle = award_notice_bundle(notice)
        # The signature itself is always checked; a file or hash given is checked against it.
        signed = verify_award_notice(None, bundle, context.keys.verify_key_hex, pdf_sha256=notice.pdf_sha256)
        checked = None
        if pdf is not None or sha256:
            checked = verify_award_notice(pdf, bundle, context.keys.verify_key_hex, pdf_sha256=sha256)
        record = notice.record
        return Template("award_verify.html", context={
            "notice": notice, "record": record, "bundle": bundle, "signed": signed, "checked": checked,
            "price_yuan": yuan(record["price_fen"]), "basis_name": BASIS_NAMES[record["basis"]],
            "issued_local": local_time(notice.issued_at), "verify_key": context.keys.verify_key_hex,
        })

    @get("/{number:str}", name="award_notice.verify")
    async def page(self, number: str, session: AsyncSession, context: AppContext,
                   sha256: str | None = None) -> Template:
        return await self._page(number, session, context, pdf=None, sha256=sha256)

    @post("/{number:str}", name="award_notice.check", status_code=200, request_max_body_size=MAX_PDF_BYTES)
    async def check(self, number: str, data: Annotated[PdfUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
                    session: AsyncSession, context: AppContext) -> Template:
        pdf = await data.file.read() if data.file is not None else None
        return await self._page(number, session, context, pdf=pdf or None, sha256=None)


class ReceiptVerificationController(Controller):
    """The public page the receipt's QR code points to."""

    path = "/verify/receipts"
    include_in_schema = False

    @get("/{number:str}", name="receipt.verify")
    async def page(self, number: str, session: AsyncSession, context: AppContext) -> Template:
        receipt = await get_receipt(session, number)
        return Template("receipt_verify.html",
                        context={"check": verify_receipt(receipt, context.keys.verify_key_hex)})
