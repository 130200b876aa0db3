"""One settings object, read from the environment once, with local defaults.

``make run`` needs no variable at all: data lives under ``var/`` in the checkout, the
database is the embedded PostgreSQL, keys are made on first start. ``DATABASE_URL``
switches to an external PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from trading.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def _optional_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else None


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


# The longest an API token may live (7 days): a center may choose less, never more.
MAX_API_TOKEN_HOURS = 7 * 24


def _api_token_hours() -> int:
    hours = _int("TRADING_API_TOKEN_HOURS", 24)
    if not 1 <= hours <= MAX_API_TOKEN_HOURS:
        raise ConfigurationError(f"TRADING_API_TOKEN_HOURS 须在 1 到 {MAX_API_TOKEN_HOURS} 之间（小时），现为 {hours}")
    return hours


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    # None means: start the embedded PostgreSQL under var_dir/pgdata.
    database_url: str | None
    database_name: str
    signing_key_path: Path
    kek_path: Path
    session_secret_path: Path
    host: str
    port: int
    # Where the public reaches the portal: printed in QR codes and verification links.
    public_url: str
    # Login throttling (trading.login_throttle): failures one client may make on one account
    # before it waits first_delay (doubling per further failure, up to max_delay); failures
    # older than the window no longer count.
    login_max_failures: int = 5
    login_window_seconds: int = 3600
    login_first_delay_seconds: int = 30
    login_max_delay_seconds: int = 15 * 60
    # A portal session (cookie) and an API token (refreshable: POST /api/auth/token/refresh).
    session_hours: int = 12
    api_token_hours: int = 24
    audit_checkpoint_seconds: int = 3600
    outbox_seconds: int = 5
    unseal_seconds: int = 15
    # The chronograph: how often due tenders take their time-driven steps.
    chronograph_seconds: int = 10
    # The batch opener: how often handed-in key halves are opened (bidding.opening.proceedings.open_all_handed_in_bids).
    opening_seconds: float = 1.0
    # The deadline watch (电子监察): how often yellow and red cards are given.
    deadline_watch_seconds: int = 60
    # Whether `trading serve` runs the background jobs itself; off where `trading worker`
    # processes run them (TRADING_WEB_RUNS_JOBS=0).
    web_runs_jobs: bool = True
    rule_set_dir: Path | None = None
    calendar_dir: Path | None = None
    timezone: str = "Asia/Shanghai"
    frontend_dir: Path = field(default=PROJECT_ROOT / "node_modules")
    # The CJK font embedded in PDF documents (npm package @expo-google-fonts/noto-sans-sc).
    font_dir: Path = field(default=PROJECT_ROOT / "node_modules" / "@expo-google-fonts" / "noto-sans-sc")
    # The center's deposit account (投标保证金专户) that bidders pay into, shown on their pages.
    deposit_bank: str = "中国建设银行济宁分行营业部"
    deposit_account: str = "37050168620800000001"
    deposit_account_name: str = "济宁市公共资源交易中心投标保证金专户"
    # Partner cities (异地抽取, docs/federation.md): this center's administrative division
    # code (GB/T 2260) and name, and how long a partner may take to answer.
    city_code: str = "370800"
    city_name: str = "济宁市"
    federation_timeout_seconds: float = 10.0
    # Reverse proxies whose X-Forwarded-For is believed (their addresses); none by default:
    # otherwise anyone could name any client address and dodge the per-address login limit.
    trusted_proxies: tuple[str, ...] = ()
    # The adapters (adapters/choice.py): a built-in name or ``package.module:Name``.
    notification_sender: str = "local"
    partner_gateway: str = "http"
    bribery_source: str = "platform"

    @property
    def pgdata(self) -> Path:
        return self.var_dir / "pgdata"

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = _path("TRADING_VAR_DIR", PROJECT_ROOT / "var")
        keys = var_dir / "keys"
        return cls(
            var_dir=var_dir,
            database_url=os.environ.get("DATABASE_URL") or None,
            database_name=os.environ.get("TRADING_DATABASE_NAME", "trading"),
            signing_key_path=_path("TRADING_SIGNING_KEY", keys / "signing.key"),
            kek_path=_path("TRADING_KEK", keys / "kek.key"),
            session_secret_path=_path("TRADING_SESSION_SECRET", keys / "session.key"),
            host=os.environ.get("TRADING_HOST", "127.0.0.1"),
            port=_int("TRADING_PORT", 8000),
            public_url=os.environ.get("TRADING_PUBLIC_URL")
            or f"http://{os.environ.get('TRADING_HOST', '127.0.0.1')}:{_int('TRADING_PORT', 8000)}",
            login_max_failures=_int("TRADING_LOGIN_MAX_FAILURES", 5),
            login_window_seconds=_int("TRADING_LOGIN_WINDOW_SECONDS", 3600),
            login_first_delay_seconds=_int("TRADING_LOGIN_FIRST_DELAY_SECONDS", 30),
            login_max_delay_seconds=_int("TRADING_LOGIN_MAX_DELAY_SECONDS", 15 * 60),
            api_token_hours=_api_token_hours(),
            audit_checkpoint_seconds=_int("TRADING_AUDIT_CHECKPOINT_SECONDS", 3600),
            chronograph_seconds=_int("TRADING_CHRONOGRAPH_SECONDS", 10),
            opening_seconds=float(os.environ.get("TRADING_OPENING_SECONDS", "1")),
            deadline_watch_seconds=_int("TRADING_DEADLINE_WATCH_SECONDS", 60),
            web_runs_jobs=os.environ.get("TRADING_WEB_RUNS_JOBS", "1").strip().lower() not in ("0", "false", "no"),
            rule_set_dir=_optional_path("TRADING_RULESET_DIR"),
            calendar_dir=_optional_path("TRADING_CALENDAR_DIR"),
            font_dir=_path("TRADING_FONT_DIR", PROJECT_ROOT / "node_modules" / "@expo-google-fonts" / "noto-sans-sc"),
            deposit_bank=os.environ.get("TRADING_DEPOSIT_BANK", "中国建设银行济宁分行营业部"),
            deposit_account=os.environ.get("TRADING_DEPOSIT_ACCOUNT", "37050168620800000001"),
            deposit_account_name=os.environ.get("TRADING_DEPOSIT_ACCOUNT_NAME", "济宁市公共资源交易中心投标保证金专户"),
            city_code=os.environ.get("TRADING_CITY_CODE", "370800"),
            city_name=os.environ.get("TRADING_CITY_NAME", "济宁市"),
            federation_timeout_seconds=float(os.environ.get("TRADING_FEDERATION_TIMEOUT_SECONDS", "10")),
            trusted_proxies=tuple(address.strip() for address in os.environ.get("TRADING_TRUSTED_PROXIES", "").split(",")
                                  if address.strip()),
            notification_sender=os.environ.get("TRADING_NOTIFICATION_SENDER", "local").strip(),
            partner_gateway=os.environ.get("TRADING_PARTNER_GATEWAY", "http").strip(),
            bribery_source=os.environ.get("TRADING_BRIBERY_SOURCE", "platform").strip(),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
