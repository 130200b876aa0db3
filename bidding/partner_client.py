"""Our side of a request to a partner city: sign it (federation/1), send it, check the
signed answer. Like :mod:`bidding.bid_api_client`, an HTTP client that knows nothing of web/.

A partner that does not answer within ``settings.federation_timeout_seconds`` gives
:class:`PartnerUnreachable` with a message a user can act on; every message carries a
request id, so sending it again is safe (the partner answers what it answered before).
"""

from __future__ import annotations

from typing import Any

import httpx

from trading.canonical import canon
from trading.errors import Conflict, IntegrityFailure
from trading.federation_wire import NONCE, sign_request, verify_response
from trading.keys import CenterKeys
from trading.partners import Partner
from trading.settings import Settings


class PartnerUnreachable(Conflict):
    code = "partner_unreachable"


class PartnerRefused(Conflict):
    """The partner answered with a (signed) refusal; ``details['partner_error']`` is its error."""

    code = "partner_refused"


async def send(keys: CenterKeys, settings: Settings, partner: Partner, method: str, path: str,
               message: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one signed message to ``partner`` and return its verified JSON answer."""
    body = canon(message) if message is not None else b""
    headers = sign_request(keys.signing_key, method=method, path=path, from_city=settings.city_code,
                           to_city=partner.city_code, body=body)
    timeout = settings.federation_timeout_seconds
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answer = await client.request(method, partner.base_url + path, content=body, headers=headers)
    except httpx.TimeoutException:
        raise PartnerUnreachable(
            f"合作城市{partner.name}（{partner.city_code}）在 {timeout:g} 秒内没有应答：可稍后重试（同一请求编号，"
            f"不会重复抽取），或在规则允许时改抽本地专家", partner=partner.city_code, timeout_seconds=timeout) from None
    except httpx.TransportError as exc:
        raise PartnerUnreachable(
            f"无法连接合作城市{partner.name}（{partner.city_code}，{partner.base_url}）：{type(exc).__name__}。"
            f"可稍后重试（同一请求编号，不会重复抽取），或在规则允许时改抽本地专家", partner=partner.city_code) from None
    if not verify_response(partner.verify_key, status=answer.status_code, request_nonce=headers[NONCE],
                           headers=answer.headers, body=answer.content):
        raise IntegrityFailure(f"合作城市{partner.name}的应答（HTTP {answer.status_code}）没有有效签名，已丢弃",
                               partner=partner.city_code, status=answer.status_code)
    data = answer.json()
    if answer.status_code >= 400:
        error = data.get("error") or {}
        raise PartnerRefused(f"合作城市{partner.name}拒绝了请求：{error.get('message', answer.status_code)}",
                             partner=partner.city_code, partner_error=error, status=answer.status_code)
    return data
