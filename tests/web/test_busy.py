"""When every pooled database connection stays busy (a deadline rush), the answer is a
clear 503 with Retry-After, in Chinese, never an internal error; the bid client says to
resend the same envelope."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar, post
from litestar.testing import AsyncTestClient
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cli.bid_api import BidApi
from trading.errors import DomainError
from web.core.errors import BUSY_RETRY_AFTER_SECONDS, exception_handlers


@post("/api/projects/{code:str}/bids")
async def exhausted(code: str) -> None:
    raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00")


async def test_an_exhausted_pool_answers_503_with_retry_after():
    async with AsyncTestClient(app=Litestar([exhausted], exception_handlers=exception_handlers)) as client:
        answer = await client.post("/api/projects/JN-1/bids")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(BUSY_RETRY_AFTER_SECONDS)
    assert answer.json()["error"]["code"] == "busy" and "稍后重试" in answer.json()["error"]["message"]
    assert "QueuePool" not in answer.text  # nothing of the server's inside goes out


def test_the_bid_client_tells_the_bidder_to_resend_the_same_envelope():
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"code": "busy", "message": "服务器繁忙，本次请求未被处理，请稍后重试",
                                                   "details": {"retry_after": 5}}})

    with BidApi("http://platform.test", "token", transport=httpx.MockTransport(busy)) as api, \
            pytest.raises(DomainError, match="同一信封") as refused:
        api.center_verify_key()
    assert "503" in refused.value.message
