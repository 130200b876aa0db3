"""Live events for the portal's pages: the stream of web/core/live.py under the session cookie
(the browser's EventSource cannot send a bearer token), errors as pages; not part of the API
document."""

from __future__ import annotations

from litestar import get

from web.core.live import stream_events

live_page_events = get("/live/{kind:str}/{key:str}", include_in_schema=False)(stream_events)
