"""The connections to the outside are chosen by settings (adapters/choice.py), and
`TRADING_WEB_RUNS_JOBS=0` really keeps the background jobs out of the web app."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from adapters.choice import chosen_adapters
from adapters.partner_gateway import HttpPartnerGateway
from bidding.jobs import ALL_JOBS
from credit.bribery import PlatformRecordSource
from tests.conftest import with_settings
from tests.common.live_server import ROOT
from trading.audit import AuditCheckpoint, AuditEntry, record_event
from trading.database import make_sessionmaker, transaction
from trading.errors import ConfigurationError
from trading.jobs import JobContext
from trading.keys import load_center_keys
from trading.notifications import SENT, LocalSender, OutboxMessage, enqueue
from web.app import create_app


class RecordingSender:
    """A center's own sender, named by ``package.module:Name`` in the settings."""

    delivered: list[str] = []

    async def send(self, message: OutboxMessage) -> None:
        RecordingSender.delivered.append(message.body)


class Mute:
    """Has no ``send``: not a sender."""


def test_out_of_the_box_the_local_sender_the_http_gateway_and_the_platforms_own_records(settings):
    adapters = chosen_adapters(settings)
    assert isinstance(adapters.sender, LocalSender)
    assert isinstance(adapters.partner_gateway, HttpPartnerGateway)
    assert isinstance(adapters.bribery_source, PlatformRecordSource)


async def test_a_centers_own_sender_named_in_the_settings_delivers_the_outbox(settings, engine):
    chosen = with_settings(settings, notification_sender="tests.adapters.test_adapters:RecordingSender")
    adapters = chosen_adapters(chosen)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        message = enqueue(session, channel="sms", recipient="expert:EXP0001", subject="test:adapters",
                          body="请于明日九时到达评标室")
    outbox = next(job for job in ALL_JOBS if job.name == "outbox")
    context = JobContext(settings=chosen, sessions=sessions, keys=load_center_keys(chosen),
                         partner_gateway=adapters.partner_gateway, sender=adapters.sender)
    async with transaction(sessions) as session:
        await outbox.work(session, context)
    assert "请于明日九时到达评标室" in RecordingSender.delivered
    async with transaction(sessions) as session:
        assert (await session.get(OutboxMessage, message.id)).status == SENT


@pytest.mark.parametrize("chosen, says", [
    ("fax", "TRADING_NOTIFICATION_SENDER 的取值「fax」不是可用的通知发送方式"),
    ("tests.adapters.test_adapters:Nobody", "不是可用的通知发送方式"),
    ("no_such_package.senders:Sender", "不是可用的通知发送方式"),
    ("tests.adapters.test_adapters:Mute", "缺少 send"),
])
def test_a_wrong_adapter_setting_is_refused_naming_the_variable(settings, chosen, says):
    with pytest.raises(ConfigurationError) as refused:
        chosen_adapters(with_settings(settings, notification_sender=chosen))
    assert says in refused.value.message


def test_the_worker_will_not_start_with_a_wrong_adapter_setting(settings):
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRADING_")}
    env.update(DATABASE_URL=settings.database_url, TRADING_VAR_DIR=str(settings.var_dir), PYTHONPATH=str(ROOT),
               TRADING_PARTNER_GATEWAY="carrier-pigeon")
    done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "worker"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "错误：TRADING_PARTNER_GATEWAY 的取值「carrier-pigeon」不是可用的异地平台通道" in done.stderr
    assert "后台任务已启动" not in done.stdout


async def _checkpointed_after_start(settings, engine, database_url, *, web_runs_jobs: bool) -> bool:
    """Start the web app; is a new audit entry checkpointed within a few seconds?"""
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await record_event(session, actor="test", action="test.jobs_probe", subject="test:jobs", data={})
        newest = await session.scalar(select(func.max(AuditEntry.seq)))
    app = create_app(with_settings(settings, web_runs_jobs=web_runs_jobs, audit_checkpoint_seconds=1),
                     url=database_url)
    async with AsyncTestClient(app=app):
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            async with transaction(sessions) as session:
                head = await session.scalar(select(func.max(AuditCheckpoint.seq)))
            if head is not None and head >= newest:
                return True
            await asyncio.sleep(0.2)
    return False


async def test_serve_runs_the_jobs_itself_unless_told_they_run_in_workers(settings, engine, database_url):
    assert not await _checkpointed_after_start(settings, engine, database_url, web_runs_jobs=False)
    assert await _checkpointed_after_start(settings, engine, database_url, web_runs_jobs=True)
