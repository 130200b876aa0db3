"""Our side of a request to a partner city: sign it (federation/1), send it through the
partner gateway, check the signed answer.

The gateway only carries bytes: :class:`PartnerGateway` is what bidding/ asks of it, and
the layers above pass in the HTTP one (``adapters/partner_gateway.py``), so that only web/ and
cli/ speak HTTP. A partner that does not answer within ``settings.federation_timeout_seconds``
gives :class:`PartnerUnreachable` with a message a user can act on; every message carries a
request id, so sending it again is safe (the partner answers what it answered before).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from trading.canonical import canon
from trading.errors import Conflict, IntegrityFailure
from trading.federation_wire import NONCE, sign_request, verify_response
from trading.keys import CenterKeys
from trading.partners import Partner
from trading.settings import Settings


@dataclass(frozen=True)
class PartnerAnswer:
    status_code: int
    headers: Mapping[str, str]  # looked up by name as sent: the gateway keeps them case-insensitive
    content: bytes


class PartnerGateway(Protocol):
    """Carries one request to a partner's platform and brings its answer back, whatever it is.

    Raises :class:`TimeoutError` when no answer came within ``timeout`` seconds and
    :class:`ConnectionError` when the partner could not be reached at all.
    """

    async def request(self, method: str, url: str, *, content: bytes, headers: Mapping[str, str],
                      timeout: float) -> PartnerAnswer: ...


class PartnerUnreachable(Conflict):
    code = "partner_unreachable"


class PartnerRefused(Conflict):
    """The partner answered with a (signed) refusal; ``details['partner_error']`` is its error."""

    code = "partner_refused"


async def send(gateway: PartnerGateway, keys: CenterKeys, settings: Settings, partner: Partner, method: str,
               path: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one signed message to ``partner`` and return its verified JSON answer."""
    body = canon(message) if message is not None else b""
    headers = sign_request(keys.signing_key, method=method, path=path, from_city=settings.city_code,
                           to_city=partner.city_code, body=body)
    timeout = settings.federation_timeout_seconds
    try:
        answer = await gateway.request(method, partner.base_url + path, content=body, headers=headers, timeout=timeout)
    except TimeoutError:
        raise PartnerUnreachable(
            f"合作城市{partner.name}（{partner.city_code}）在 {timeout:g} 秒内没有应答：可稍后重试（同一请求编号，"
            f"不会重复抽取），或在规则允许时改抽本地专家", partner=partner.city_code, timeout_seconds=timeout) from None
    except ConnectionError as exc:
        raise PartnerUnreachable(
            f"无法连接合作城市{partner.name}（{partner.city_code}，{partner.base_url}）：{exc}。"
            f"可稍后重试（同一请求编号，不会重复抽取），或在规则允许时改抽本地专家", partner=partner.city_code) from None
    if not verify_response(partner.verify_key, status=answer.status_code, request_nonce=headers[NONCE],
                           headers=answer.headers, body=answer.content):
        raise IntegrityFailure(f"合作城市{partner.name}的应答（HTTP {answer.status_code}）没有有效签名，已丢弃",
                               partner=partner.city_code, status=answer.status_code)
    data = json.loads(answer.content)
    if answer.status_code >= 400:
        error = data.get("error") or {}
        raise PartnerRefused(f"合作城市{partner.name}拒绝了请求：{error.get('message', answer.status_code)}",
                             partner=partner.city_code, partner_error=error, status=answer.status_code)
    return data
