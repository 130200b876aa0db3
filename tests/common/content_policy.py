"""Browser tests run under the server's Content-Security-Policy and fail on any violation of
it (web/core/security_headers.py): every browser context a test opens reports each
``securitypolicyviolation`` event of its pages and frames, and tests/conftest.py asserts at
each browser test's teardown that none was reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BINDING = "__reportPolicyViolation"
# Installed before any script of the page runs, in every frame of the context.
LISTEN = """document.addEventListener("securitypolicyviolation", (event) => {
  window.%s({directive: event.effectiveDirective, blocked: event.blockedURI, page: event.documentURI,
             source: event.sourceFile, line: event.lineNumber, sample: event.sample});
});""" % BINDING


@dataclass
class PolicyWatch:
    """The violations reported since the last ``take()``."""
    violations: list[dict[str, Any]] = field(default_factory=list)

    async def watch(self, context: Any) -> Any:
        await context.expose_binding(BINDING, lambda _source, report: self.violations.append(report))
        await context.add_init_script(LISTEN)
        return context

    def take(self) -> list[dict[str, Any]]:
        taken, self.violations = self.violations, []
        return taken


class WatchedBrowser:
    """Playwright's Browser whose every new context (and new page) is watched."""

    def __init__(self, browser: Any, policy: PolicyWatch) -> None:
        self._browser, self.policy = browser, policy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    async def new_context(self, **options: Any) -> Any:
        return await self.policy.watch(await self._browser.new_context(**options))

    async def new_page(self, **options: Any) -> Any:
        context = await self.new_context(**options)
        return await context.new_page()


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {v['page']}: {v['directive']} refused {v['blocked'] or 'inline'}"
                     f" ({v['source'] or 'page'}:{v['line']}) {v['sample'] or ''}" for v in violations)
