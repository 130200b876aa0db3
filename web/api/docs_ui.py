"""The browsable API documentation (/api/docs): Swagger UI served from this server, under the
pages' script policy. Litestar's own render plugins load their UI from a CDN (absent on a
government intranet) and start it with an inline script, which the policy refuses; this one
names only local files and starts Swagger UI from /static/api_docs.js."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin
from markupsafe import Markup

VENDOR = "/vendor/swagger-ui"

PAGE = Markup("""<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{vendor}/swagger-ui.css">
  <link rel="stylesheet" href="/static/api_docs.css">
  <script src="{vendor}/swagger-ui-bundle.js" defer></script>
  <script src="/static/api_docs.js" defer></script>
</head>
<body>
<p class="api-docs-back"><a href="/">返回公共资源交易平台</a></p>
<div id="api-docs" data-openapi="{openapi}"></div>
</body>
</html>
""")


class LocalSwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI from /vendor/swagger-ui (package.json), started by a static script."""

    def __init__(self, path: str | list[str]) -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return PAGE.format(title=openapi_schema["info"]["title"], vendor=VENDOR,
                           openapi=self.get_openapi_json_route(request)).encode()
