"""`trading worker` runs the background jobs with the web app stopped (a deployment scales
web and worker processes apart), and `TRADING_WEB_RUNS_JOBS=0` keeps them out of `serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from bidding.jobs import ALL_JOBS
from tests.common.live_server import ROOT
from trading.audit import AuditCheckpoint, AuditEntry, record_event
from trading.database import make_sessionmaker, transaction


def test_every_package_declares_its_jobs_and_the_runners_start_them_all():
    names = [job.name for job in ALL_JOBS]
    assert len(names) == len(set(names))
    assert {"audit_checkpoint", "outbox", "unseal_committees", "open_partner_draws", "chronograph", "opener",
            "receipts", "calendar_watch", "deadline_watch"} == set(names)


async def test_the_worker_signs_the_audit_chain_with_no_web_app_and_stops_on_sigterm(settings, engine, tmp_path):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await record_event(session, actor="test", action="test.worker_probe", subject="test:worker", data={})
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("TRADING_") and name != "DATABASE_URL"}
    env.update(DATABASE_URL=settings.database_url, TRADING_VAR_DIR=str(settings.var_dir), PYTHONPATH=str(ROOT),
               TRADING_AUDIT_CHECKPOINT_SECONDS="1", PYTHONUNBUFFERED="1")
    log = tmp_path / "worker.log"
    with open(log, "wb") as output:
        worker = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "worker"],
                                  cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        async with transaction(sessions) as session:
            newest = await session.scalar(select(func.max(AuditEntry.seq)))
        while True:
            assert worker.poll() is None, log.read_text()
            async with transaction(sessions) as session:
                head = await session.scalar(select(func.max(AuditCheckpoint.seq)))
            if head is not None and head >= newest:
                break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert "后台任务已启动" in log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
        assert "已停止。" in log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
