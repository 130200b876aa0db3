"""The schema: migrating an empty database produces exactly the models, and round-trips."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from migrations.models import metadata
from tests.conftest import create_database_from_template
from trading.database import make_engine, run_as_server_admin
from trading.schema import downgrade_database, upgrade_database


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(context, metadata)


async def test_migrated_database_matches_the_models(engine):
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_downgrade_to_base_and_upgrade_again(server_url, template_url):
    url = await create_database_from_template(server_url, template_url, "roundtrip")
    engine = make_engine(url)
    try:
        # Alembic's env runs its own event loop, so call it from a worker thread.
        import anyio

        await anyio.to_thread.run_sync(downgrade_database, url, "base")
        async with engine.connect() as conn:
            tables = (await conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))).all()
        assert tables == []
        await anyio.to_thread.run_sync(upgrade_database, url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            trigger_count = await conn.scalar(text(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_no_update_delete'"))
        assert trigger_count == 3
    finally:
        await engine.dispose()
        await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def test_the_migrations_have_one_head():
    """Branches built side by side are merged before they land: one head to upgrade to."""
    from alembic.script import ScriptDirectory

    from trading.schema import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config(None)).get_heads()) == 1


async def test_bidder_keys_registered_before_rotation_existed_keep_their_history(server_url, template_url):
    """bidkeys00001: earlier keys become 'registered', each later key of an organisation names the one it
    replaced (those replacements were silent: now they are visible in the history)."""
    import anyio

    url = await create_database_from_template(server_url, template_url, "bidkeys_history")
    engine = make_engine(url)
    try:
        await anyio.to_thread.run_sync(downgrade_database, url, "w1bidpending1")
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO regions (code, name) VALUES ('370800', '济宁市') ON CONFLICT DO NOTHING"))
            org = await conn.scalar(text(
                "INSERT INTO organisations (credit_code, name, roles, region_code) "
                "VALUES ('91370800MA0000001X', '测试单位', ARRAY['bidder'], '370800') RETURNING id"))
            await conn.execute(text(
                "INSERT INTO bidder_keys (organisation_id, verify_key, registered_by, revoked_at) VALUES "
                "(:org, repeat('a', 64), 'user:1:a', now()), (:org, repeat('b', 64), 'user:1:a', NULL)"), {"org": org})
        await anyio.to_thread.run_sync(upgrade_database, url)
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, how, replaces_key_id FROM bidder_keys WHERE organisation_id = :org ORDER BY id"),
                {"org": org})).all()
        assert [(how, replaces) for _, how, replaces in rows] == [("registered", None), ("registered", rows[0][0])]
    finally:
        await engine.dispose()
        await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
