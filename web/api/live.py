"""Live events over the API (server-sent events, bearer token): the stream is web/core/live.py."""

from __future__ import annotations

from litestar import get

from web.core.errors import error_responses
from web.core.live import stream_events

live_events = get("/api/live/{kind:str}/{key:str}", tags=["live"], responses=error_responses(None, 401, 403, 404),
                  summary="Live events of one draw, opening, evaluation or project (server-sent events)")(stream_events)
