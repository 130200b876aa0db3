"""Accounts over the API: the center creates an expert's account linked by ID number and
disables it (its tokens end at once); a user changes its own password with the current one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from tests.common.portal import bearer
from trading.settings import Settings
from web.app import create_app

COLLEGE = "12370800MB2345678H"  # the demo experts' employer


@pytest.fixture
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


def account(**changes) -> dict:
    return {"username": "wangfang", "display_name": "王芳（评标专家）", "role": "expert", "password": "Start#2026x",
            "organisation_credit_code": COLLEGE, "id_number": "370802198503150024"} | changes


async def token_of(client, username: str, password: str) -> dict[str, str]:
    answer = await client.post("/api/auth/token", json={"username": username, "password": password, "name": "测试"})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def test_the_center_creates_and_disables_accounts_and_a_user_changes_its_password(client):
    admin, supervisor = await bearer(client, "admin"), await bearer(client, "supervisor")
    assert (await client.post("/api/accounts", json=account(), headers=supervisor)).status_code == 403
    bad_role = await client.post("/api/accounts", json=account(role="boss"), headers=admin)
    assert bad_role.status_code == 400 and "未知的用户角色" in bad_role.json()["error"]["message"]
    no_org = await client.post("/api/accounts", json=account(organisation_credit_code=None), headers=admin)
    assert no_org.status_code == 400 and "必须属于" in no_org.json()["error"]["message"]

    made = await client.post("/api/accounts", json=account(), headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "expert" and made.json()["id_number"] != "370802198503150024"  # masked
    assert "password" not in made.text and "Start#2026x" not in made.text
    assert (await client.post("/api/accounts", json=account(), headers=admin)).status_code == 409
    assert "wangfang" in [a["username"] for a in (await client.get("/api/accounts", headers=admin)).json()]

    expert = await token_of(client, "wangfang", "Start#2026x")
    wrong = await client.post("/api/me/password", json={"current": "nope", "new": "Mine#2026xyz"}, headers=expert)
    assert wrong.status_code == 401
    changed = await client.post("/api/me/password", json={"current": "Start#2026x", "new": "Mine#2026xyz"},
                                headers=expert)
    assert changed.status_code == 201
    assert (await client.get("/api/me", headers=expert)).status_code == 401  # every token ended
    assert (await client.post("/api/auth/token", json={"username": "wangfang", "password": "Start#2026x"})
            ).status_code == 401
    expert = await token_of(client, "wangfang", "Mine#2026xyz")

    assert (await client.post("/api/accounts/wangfang/disable", json={"reason": ""}, headers=admin)).status_code == 400
    disabled = await client.post("/api/accounts/wangfang/disable", json={"reason": "专家已解聘"}, headers=admin)
    assert disabled.status_code == 201 and disabled.json()["is_active"] is False
    assert (await client.get("/api/me", headers=expert)).status_code == 401
    assert (await client.post("/api/auth/token", json={"username": "wangfang", "password": "Mine#2026xyz"})
            ).status_code == 401
    enabled = await client.post("/api/accounts/wangfang/enable", json={"reason": "重新聘任"}, headers=admin)
    assert enabled.status_code == 201 and enabled.json()["is_active"] is True
    await token_of(client, "wangfang", "Mine#2026xyz")
    assert (await client.post("/api/accounts/nobody/disable", json={"reason": "x"}, headers=admin)).status_code == 404


async def test_the_command_line_creates_and_disables_an_account(demo, cli, engine):
    from sqlalchemy import select

    from trading.accounts import User
    from trading.database import make_sessionmaker

    made = await cli("users", "add", "zhaolei", "--role", "bidder", "--name", "赵磊", "--org", "91370800MA1234567Q",
                     "--password", "Start#2026x")
    assert made.exit_code == 0 and "已创建账号 zhaolei" in made.output, made.output
    refused = await cli("users", "add", "zhaolei2", "--role", "bidder", "--name", "赵磊", "--password", "Start#2026x")
    assert refused.exit_code == 1 and "必须属于" in refused.output
    assert (await cli("users", "disable", "zhaolei", "--reason", "离职")).exit_code == 0
    async with make_sessionmaker(engine)() as session:
        user = await session.scalar(select(User).where(User.username == "zhaolei"))
    assert user.is_active is False and user.role == "bidder"
    assert (await cli("users", "enable", "zhaolei", "--reason", "返聘")).exit_code == 0
    async with make_sessionmaker(engine)() as session:
        user = await session.scalar(select(User).where(User.username == "zhaolei"))
    assert user.is_active is True


async def test_an_administrator_cannot_disable_itself_nor_the_last_administrator(client, cli):
    admin = await bearer(client, "admin")
    itself = await client.post("/api/accounts/admin/disable", json={"reason": "误操作"}, headers=admin)
    assert itself.status_code == 409 and "不能停用自己" in itself.json()["error"]["message"]
    # From the command line (no account acting) the one administrator is the last one.
    last = await cli("users", "disable", "admin", "--reason", "测试")
    assert last.exit_code == 1 and "最后一个有效的管理员" in last.output
    made = await cli("users", "add", "admin2", "--role", "admin", "--name", "第二管理员", "--password", "Second#2026x")
    assert made.exit_code == 0, made.output
    assert (await cli("users", "disable", "admin2", "--reason", "调岗")).exit_code == 0
    assert (await cli("users", "enable", "admin2", "--reason", "返岗")).exit_code == 0
    assert (await client.post("/api/accounts/admin2/disable", json={"reason": "调岗"}, headers=admin)).status_code == 201


async def test_common_and_trivial_passwords_are_refused_wherever_a_password_is_set(client, cli):
    """Issue 14: the common and the trivial are refused with a Chinese reason naming the field."""
    admin = await bearer(client, "admin")
    for password, says in (("Password1", "常见密码"), ("LiuYang", "至少"), ("liuyang-2026".upper(), None),
                           ("********", "同一个字符"), ("iloveyou", "常见密码")):
        answer = await client.post("/api/accounts", headers=admin, json=account(
            username="liuyang", password=password, role="supervisor", organisation_credit_code=None, id_number=None))
        if says is None:  # LIUYANG-2026 is neither the username nor common
            assert answer.status_code == 201, answer.text
            continue
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert says in error["message"] and error["details"]["field"] == "password"
    named = await client.post("/api/accounts", headers=admin, json=account(
        username="zhouqiang", password="ZhouQiang", role="supervisor", organisation_credit_code=None, id_number=None))
    assert named.status_code == 400 and named.json()["error"]["message"] == "密码不能与用户名相同"

    own = await token_of(client, "liuyang", "LIUYANG-2026")
    changed = await client.post("/api/me/password", json={"current": "LIUYANG-2026", "new": "qwertyuiop"}, headers=own)
    assert changed.status_code == 400
    assert changed.json()["error"]["message"].startswith("新密码是常见密码")
    assert changed.json()["error"]["details"]["field"] == "new"

    refused = await cli("users", "add", "sunli", "--role", "admin", "--name", "孙丽", "--password", "1qaz2wsx")
    assert refused.exit_code == 1 and "密码是常见密码" in refused.output
