"""The partner gateway over HTTP (httpx): bidding/ signs and checks federation/1 messages,
this only carries them (:class:`bidding.draws.partner_client.PartnerGateway`)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from bidding.draws.partner_client import PartnerAnswer


class HttpPartnerGateway:
    async def request(self, method: str, url: str, *, content: bytes, headers: Mapping[str, str],
                      timeout: float) -> PartnerAnswer:
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                answer = await client.request(method, url, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        except httpx.TransportError as exc:
            # The class name says enough (ConnectError, RemoteProtocolError...); no address or secret.
            raise ConnectionError(type(exc).__name__) from exc
        return PartnerAnswer(status_code=answer.status_code, headers=answer.headers, content=answer.content)
