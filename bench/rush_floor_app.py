"""The floor of the deadline rush: the same multipart uploads into a bare Litestar route that
stores each (envelope, ciphertext) with one asyncpg INSERT and does nothing else — no
authentication, signature or registration check, no deadline, sequence, audit entry or
signed receipt. Whatever the real route does beyond this costs on top of this figure.

    FLOOR_DSN=postgresql://... uvicorn rush_floor_app:app   (bench/deadline_rush.py --floor runs it)
"""

from __future__ import annotations

import hashlib
import os

import asyncpg
from litestar import Litestar, Request, get, post

pool: asyncpg.Pool | None = None


async def connect() -> None:
    global pool
    pool = await asyncpg.create_pool(os.environ["FLOOR_DSN"], min_size=15, max_size=15)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS floor_bids "
                           "(id bigserial PRIMARY KEY, envelope jsonb NOT NULL, ciphertext bytea NOT NULL)")


@post("/api/projects/{code:str}/bids", request_max_body_size=64 * 1024 * 1024)
async def store(code: str, request: Request) -> dict:
    form = await request.form()
    ciphertext = await form["ciphertext"].read()
    async with pool.acquire() as conn:
        sequence = await conn.fetchval("INSERT INTO floor_bids (envelope, ciphertext) VALUES ($1::jsonb, $2) "
                                       "RETURNING id", form["envelope"], ciphertext)
    return {"receipt": {"sequence": sequence, "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest()}}


@get("/health")
async def health() -> dict:
    return {"status": "ok"}


app = Litestar([store, health], on_startup=[connect])
