"""The bidder's side of the bid API (``web/api/bids.py``): submit and withdraw sealed bids over
HTTP with a bearer token, and check what the center answers before relying on it.

Files next to the envelope ``<prefix>.envelope.json`` (see :mod:`bidding.bids.packaging`):
``<prefix>.sealed`` is sent, ``<prefix>.receipt.json`` (the center-signed receipt) and
``<prefix>.withdrawal.json`` (the signed withdrawal receipt) are written once verified.

The receipt is checked against the center's verify key: given by the bidder (pinned, the
safe way: printed by ``trading serve`` and published by the center) or, when not given,
fetched from the same server's ``GET /api/keys``. A submission is idempotent: sending the
same envelope again before the deadline, while it is the current bid, answers the stored
receipt, so a bidder whose connection broke after sending simply runs ``submit`` again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import nacl.signing

from bidding.bids import key_rotation

from bidding.bids import sealed_bid
from bidding.bids.packaging import check_center_key, read_envelope
from trading.canonical import canon
from trading.errors import (
    Conflict,
    DomainError,
    IntegrityFailure,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    RuleViolation,
)
from trading.keys import verify_signature

WITHDRAW_PROTOCOL = "sealed-bid-withdraw/1"
WITHDRAW_RECEIPT_PROTOCOL = "sealed-bid-withdraw-receipt/1"
WITHDRAW_RECEIPT_FIELDS = ("protocol", "tender_code", "bidder_code", "envelope_sha256", "withdrawn_at")
ENVELOPE_SUFFIX = ".envelope.json"
# Uploads of large packages on slow lines: generous for reading and writing, short to connect.
TIMEOUT = httpx.Timeout(600.0, connect=15.0)

# What the bidder should do about a refusal, by the server's error code (the server's own
# message, already in Chinese, says what happened).
ADVICE = {
    "after_bid_deadline": "投标截止时间已过，本次投标未被接收",
    "not_registered": "请先报名本项目（POST /api/projects/{code}/registrations）并获准后再投标",
    "registration_refused": "报名未获准予的单位不能投标",
    "deposit_unpaid": "请在截止前交纳投标保证金，到账确认后再递交",
    "no_bidder_key": "请先登记 `trading bid keygen` 给出的验签公钥（POST /api/bidder-keys）",
    "bidder_key_mismatch": "请使用本单位登记的身份密钥加密",
    "bidder_key_exists": "更换已登记的身份密钥请用 `trading bid rotate-key`；密钥丢失的，请在网页「身份密钥」中申请重置",
    "rotation_stale": "请核对本机时间（与北京时间相差不应超过 10 分钟）后重试",
    "rotation_not_current": "--key 须是本单位现用的身份密钥文件",
    "withdraw_signature": "撤回须用递交该投标文件时本单位登记的身份密钥文件（更换密钥前递交的投标，仍用旧密钥文件）",
    "envelope_rejected": "请用本单位登记的身份密钥和本项目的开标公钥重新执行 `trading bid seal`",
    "envelope_reused": "该信封已被替换或撤回，请重新执行 `trading bid seal` 后递交",
    "state_conflict": "项目当前不在投标阶段",
    "bid_not_current": "只能撤回当前有效的投标文件",
    "busy": "请稍后用同一信封再次执行 `trading bid submit`（已递交的投标会返回原回执，不会重复递交）",
}
_STATUS_ERRORS: dict[int, type[DomainError]] = {
    400: InvalidInput, 401: NotAuthenticated, 403: PermissionDenied, 404: NotFound, 409: Conflict,
    413: InvalidInput, 422: RuleViolation, 429: RateLimited,
}


@dataclass(frozen=True)
class SubmittedBid:
    receipt: dict[str, Any]
    signature: str
    key_id: str
    center_verify_key: str
    superseded: list[str]  # the envelope_sha256 of the bidder's bids this one replaced
    receipt_path: Path


@dataclass(frozen=True)
class WithdrawnBid:
    receipt: dict[str, Any]
    signature: str
    key_id: str
    center_verify_key: str
    receipt_path: Path


def _prefix(envelope_path: Path) -> str:
    name = str(envelope_path)
    return name[: -len(ENVELOPE_SUFFIX)] if name.endswith(ENVELOPE_SUFFIX) else str(Path(name).with_suffix(""))


def ciphertext_path_for(envelope_path: Path) -> Path:
    """``<prefix>.sealed`` beside ``<prefix>.envelope.json`` (as ``trading bid seal`` wrote them)."""
    return Path(_prefix(Path(envelope_path)) + ".sealed")


def receipt_path_for(envelope_path: Path) -> Path:
    return Path(_prefix(Path(envelope_path)) + ".receipt.json")


def withdrawal_path_for(envelope_path: Path) -> Path:
    return Path(_prefix(Path(envelope_path)) + ".withdrawal.json")


def _write_json(path: Path, record: dict[str, Any]) -> None:
    # Write beside and rename: a crash never leaves a half-written receipt.
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)


class BidApi:
    """A small synchronous client of the bid API for one server and one bearer token."""

    def __init__(self, server_url: str, token: str | None, *, transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout = TIMEOUT) -> None:
        """``token`` None: no account yet (only :meth:`log_in` works)."""
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise NotAuthenticated("缺少访问令牌：请先执行 `trading bid login`，或用 --token / 环境变量 TRADING_TOKEN "
                                   "提供投标人账号的令牌")
        if not server_url.startswith(("http://", "https://")):
            raise InvalidInput(f"服务器地址应以 http:// 或 https:// 开头：{server_url}")
        self.server_url = server_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token.strip()}"} if token else {}
        self._client = httpx.Client(base_url=self.server_url, transport=transport, timeout=timeout, headers=headers)

    def log_in(self, username: str, password: str, name: str = "trading bid") -> dict[str, Any]:
        """Exchange the account's password for an API token (``POST /api/auth/token``)."""
        try:
            return self._request("POST", "/api/auth/token", json={"username": username, "password": password,
                                                                  "name": name})
        except NotAuthenticated:
            raise NotAuthenticated("用户名或密码错误") from None

    def refresh(self) -> dict[str, Any]:
        """Exchange this client's live token for a new one (``POST /api/auth/token/refresh``): the old one ends."""
        answer = self._request("POST", "/api/auth/token/refresh")
        self._client.headers["Authorization"] = f"Bearer {answer['token']}"
        return answer

    def __enter__(self) -> BidApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, *, sent: bool = False, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise DomainError(self._broken(sent, f"等待服务器应答超时（{exc.__class__.__name__}）"),
                              code="server_timeout") from None
        except httpx.TransportError as exc:
            raise DomainError(self._broken(sent, f"无法连接服务器 {self.server_url}：{exc}"),
                              code="server_unreachable") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.is_success and isinstance(body, dict):
            return body
        raise self._refusal(answer.status_code, body, path)

    @staticmethod
    def _broken(sent: bool, what: str) -> str:
        if not sent:
            return what
        return (f"{what}。投标可能已经递交成功：请用同一信封再次执行 `trading bid submit`，"
                f"已递交的投标会返回原回执，不会重复递交")

    def _refusal(self, status: int, body: Any, path: str) -> DomainError:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), str) else f"http_{status}"
        message = error.get("message") if isinstance(error.get("message"), str) else ""
        if status == 401:
            message = "访问令牌无效或已过期，请重新执行 `trading bid login` 登录（或用 POST /api/auth/token 重新申请令牌）"
        elif status == 403:
            message = f"当前账号无权执行此操作（只有关联投标单位的投标人账号可以递交或撤回投标）：{message}".rstrip("：")
        elif status == 413:
            message = "投标文件超过服务器允许的大小"
        elif not message:
            message = f"服务器返回 HTTP {status}"
        tender = path.split("/")[3] if path.startswith("/api/projects/") else ""
        advice = ADVICE.get(code, "").replace("{code}", tender)
        text = f"服务器拒绝（HTTP {status}，{code}）：{message}" + (f"；{advice}" if advice else "")
        cls = _STATUS_ERRORS.get(status, DomainError)
        return cls(text, code=code, status=status, server_details=error.get("details") or {})

    # ------------------------------------------------------------------ keys

    def center_verify_key(self) -> str:
        """The center's Ed25519 verify key as the server publishes it (``GET /api/keys``)."""
        signing = self._request("GET", "/api/keys").get("signing")
        if not isinstance(signing, dict) or not isinstance(signing.get("verify_key"), str):
            raise IntegrityFailure("服务器未给出中心验签公钥（/api/keys 的应答格式不符）")
        return check_center_key(signing["verify_key"])

    def opening_key(self, tender_code: str) -> dict[str, Any]:
        """The tender's signed opening key record as published (``GET /api/projects/{code}/opening-key``);
        not to be trusted before :func:`bidding.bids.packaging.tender_key_from_record` checks it."""
        return self._request("GET", f"/api/projects/{quote(tender_code, safe='')}/opening-key")

    def _trusted_key(self, center_verify_key: str | None) -> str:
        return check_center_key(center_verify_key) if center_verify_key else self.center_verify_key()

    # ------------------------------------------------------------------ submit / withdraw

    def submit(self, envelope_path: Path, ciphertext_path: Path | None = None, *,
               center_verify_key: str | None = None) -> SubmittedBid:
        """Send the sealed bid, verify the center's receipt, store it as ``<prefix>.receipt.json``."""
        envelope_path = Path(envelope_path)
        envelope = read_envelope(envelope_path)
        ciphertext_path = Path(ciphertext_path) if ciphertext_path else ciphertext_path_for(envelope_path)
        if not ciphertext_path.is_file():
            raise InvalidInput(f"找不到密文文件 {ciphertext_path}（应与信封一同由 `trading bid seal` 生成）")
        ciphertext = ciphertext_path.read_bytes()
        # The server checks these too; checking first saves uploading the wrong file.
        if len(ciphertext) != envelope["ciphertext_size"] or \
                hashlib.sha256(ciphertext).hexdigest() != envelope["ciphertext_sha256"]:
            raise InvalidInput(f"密文文件 {ciphertext_path} 与信封 {envelope_path} 不符（长度或 SHA-256 摘要不同）")
        trusted = self._trusted_key(center_verify_key)
        answer = self._request(
            "POST", f"/api/projects/{envelope['tender_code']}/bids", sent=True,
            data={"envelope": canon(envelope).decode("utf-8")},
            files={"ciphertext": (ciphertext_path.name, ciphertext, "application/octet-stream")})
        receipt, signature = answer.get("receipt"), answer.get("signature")
        if not isinstance(signature, str):
            raise IntegrityFailure("服务器应答中没有回执签名")
        try:
            sealed_bid.verify_receipt(receipt, signature, trusted, envelope)
        except sealed_bid.EnvelopeRejected as exc:
            raise IntegrityFailure(f"回执校验未通过，请勿视为已投标：{exc.message}", check=exc.details.get("check")) from None
        record = {"receipt": receipt, "signature": signature, "key_id": answer.get("key_id"),
                  "center_verify_key": trusted}
        path = receipt_path_for(envelope_path)
        _write_json(path, record)
        return SubmittedBid(receipt=receipt, signature=signature, key_id=str(answer.get("key_id")),
                            center_verify_key=trusted, superseded=list(answer.get("superseded") or []),
                            receipt_path=path)

    def withdraw(self, envelope_path: Path, signing_key: nacl.signing.SigningKey, *,
                 center_verify_key: str | None = None) -> WithdrawnBid:
        """Withdraw the bid of this envelope with a request signed by the bidder's identity key;
        verify the center's signed answer and store it as ``<prefix>.withdrawal.json``."""
        envelope_path = Path(envelope_path)
        envelope = read_envelope(envelope_path)
        request = {"protocol": WITHDRAW_PROTOCOL, "tender_code": envelope["tender_code"],
                   "bidder_code": envelope["bidder_code"], "envelope_sha256": sealed_bid.envelope_sha256(envelope)}
        signature = signing_key.sign(canon(request)).signature.hex()
        trusted = self._trusted_key(center_verify_key)
        answer = self._request("POST", f"/api/projects/{envelope['tender_code']}/bids/withdrawal",
                               json={"request": request, "signature": signature})
        record, answer_signature = answer.get("receipt"), answer.get("signature")
        if not isinstance(record, dict) or set(record) != set(WITHDRAW_RECEIPT_FIELDS) \
                or record.get("protocol") != WITHDRAW_RECEIPT_PROTOCOL:
            raise IntegrityFailure(f"撤回回执格式不符合 {WITHDRAW_RECEIPT_PROTOCOL}")
        if not isinstance(answer_signature, str) or not verify_signature(record, answer_signature, trusted):
            raise IntegrityFailure("撤回回执签名无效：不是中心公钥所签，或回执内容被改动")
        if any(record[name] != request[name] for name in ("tender_code", "bidder_code", "envelope_sha256")):
            raise IntegrityFailure("撤回回执所列项目、投标人或信封摘要与撤回请求不符")
        path = withdrawal_path_for(envelope_path)
        _write_json(path, {"request": request, "request_signature": signature, "receipt": record,
                           "signature": answer_signature, "key_id": answer.get("key_id"),
                           "center_verify_key": trusted})
        return WithdrawnBid(receipt=record, signature=answer_signature, key_id=str(answer.get("key_id")),
                            center_verify_key=trusted, receipt_path=path)

    # ------------------------------------------------------------------ the identity key

    def my_keys(self) -> dict[str, Any]:
        """The organisation's keys as the server holds them (``GET /api/bidder-keys/mine``)."""
        return self._request("GET", "/api/bidder-keys/mine")

    def rotate_key(self, old_key: nacl.signing.SigningKey, new_key: nacl.signing.SigningKey) -> dict[str, Any]:
        """Replace the organisation's current key (``old_key``) by ``new_key`` with a
        sealed-bid-key-rotation/1 request signed now by ``old_key``; returns the new key's record."""
        mine = self.my_keys()
        current = mine.get("current") or {}
        if current.get("verify_key") != old_key.verify_key.encode().hex():
            raise InvalidInput("旧密钥文件不是本单位现用的身份密钥（与服务器登记的公钥不符），无法签名更换；"
                               "密钥丢失的，请在网页「身份密钥」中申请重置")
        request = key_rotation.rotation_request(mine["bidder_credit_code"], old_key.verify_key, new_key.verify_key,
                                                datetime.now(UTC))
        answer = self._request("POST", "/api/bidder-keys/rotation",
                               json={"request": request, "signature": key_rotation.sign_rotation(request, old_key)})
        if answer.get("verify_key") != request["new_verify_key"]:
            raise IntegrityFailure("服务器应答的现用公钥与新密钥不符")
        return answer
