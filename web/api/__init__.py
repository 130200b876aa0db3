"""The JSON API (/api/…, /health) and its OpenAPI document (/api/docs): one module per area.
It imports web.core, never web.pages."""
