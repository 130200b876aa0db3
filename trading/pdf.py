"""PDF documents (sealed result sheets, award notices, receipts) from HTML templates.

The Chinese font comes with the set-up, not the machine: Noto Sans SC from the npm
package ``@expo-google-fonts/noto-sans-sc`` (pinned in package.json, installed under
``node_modules/``; ``Settings.font_dir``). Each document gets the font cut down to its
own characters with HarfBuzz (``uharfbuzz``, a wheel) and declared by ``@font-face``;
WeasyPrint embeds that subset. No system font is used, so a PDF reads the same on any
machine.

WeasyPrint needs Pango, a system library, and Pango kills the whole process when it finds
no usable font. So WeasyPrint runs only in child processes (a small spawned pool): a
document that cannot be made is :class:`~trading.errors.Unavailable` for that request,
never the end of the server.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from html import unescape
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import segno

from trading.errors import Unavailable
from trading.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")

TEMPLATES = Path(__file__).parent / "templates"
# The faces the templates use (body text, headings), by CSS weight, under Settings.font_dir.
FONT_FACES = {400: Path("400Regular/NotoSansSC_400Regular.ttf"), 700: Path("700Bold/NotoSansSC_700Bold.ttf")}
FONT_FAMILY = "Bundled Noto Sans SC"
# Kept in every subset whatever the document's text: what stylesheets add (page numbers).
ALWAYS_KEPT = "".join(chr(code) for code in range(0x20, 0x7F)) + "".join(
    path.read_text() for path in sorted(TEMPLATES.glob("*.css")))
RENDER_WORKERS = 2
# What fails a document (no font, no Pango) waits for the operator: minutes, not seconds.
RETRY_AFTER_SECONDS = 300
UNAVAILABLE_MESSAGE = "暂时无法生成文件，本次操作未完成，请稍后再试；如仍不行，请联系交易中心"
PROBE_HTML = ("<html lang='zh-CN'><body><h1>试生成</h1><p>中标通知书 投标保证金收款收据 "
              "人民币壹万贰仟叁佰肆拾伍元整 ¥ 12,345.00</p></body></html>")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI, to embed in a document."""
    svg = segno.make(url, error="m").svg_inline(scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def font_files(font_dir: Path) -> dict[int, Path]:
    """The bundled font's files by CSS weight."""
    return {weight: font_dir / relative for weight, relative in FONT_FACES.items()}


def missing_font_files(font_dir: Path) -> list[Path]:
    return [path for path in font_files(font_dir).values() if not path.is_file()]


async def render_pdf(template: str, **context: Any) -> bytes:
    """Render ``template`` with ``context`` and make the PDF in a child process.

    Raises :class:`Unavailable` (HTTP 503, retry later) when the document cannot be made:
    the font is not installed, Pango is missing, or the child process died.
    """
    html = _environment().get_template(template).render(**context)
    font_dir = get_settings().font_dir
    missing = missing_font_files(font_dir)
    if missing:
        log.error("PDF not made: the bundled font is not installed (%s missing; run make setup)", missing[0])
        raise Unavailable(UNAVAILABLE_MESSAGE, code="pdf_unavailable", retry_after=RETRY_AFTER_SECONDS)
    try:
        return await in_rendering_process(make_pdf, html, _faces(font_dir))
    except BrokenProcessPool as exc:
        log.error("PDF not made: its rendering process died, twice (Pango without a usable font?)")
        raise Unavailable(UNAVAILABLE_MESSAGE, code="pdf_unavailable", retry_after=RETRY_AFTER_SECONDS) from exc
    except Exception as exc:
        log.exception("PDF not made")
        raise Unavailable(UNAVAILABLE_MESSAGE, code="pdf_unavailable", retry_after=RETRY_AFTER_SECONDS) from exc


async def pdf_problems(font_dir: Path) -> list[str]:
    """What keeps this machine from making readable PDFs, in Chinese for the operator; empty when none.

    Makes a small document in the rendering pool (which so is ready for the first real one):
    a missing Pango, a font Pango cannot use, or a crash shows here, at start.
    """
    missing = missing_font_files(font_dir)
    if missing:
        return [f"未找到 PDF 文件所需的内置中文字体（{missing[0]}）。请在项目目录运行 make setup（其中 npm ci "
                "安装 package-lock.json 固定的前端软件包，含 Noto Sans SC 字体）。在此之前，中标通知书、电子票据、"
                "抽取结果单等 PDF 文件一律不生成，相关请求答复“暂时无法生成”。"]
    try:
        await in_rendering_process(make_pdf, PROBE_HTML, _faces(font_dir))
    except BrokenProcessPool:
        return ["试生成 PDF 时渲染进程异常退出（多半是 Pango 找不到可用的字体）。中文字体文件可能已损坏：请删除 "
                "node_modules 后重新运行 make setup。在此之前，PDF 文件一律不生成。"]
    except Exception as exc:  # noqa: BLE001 - the operator reads what failed; the server keeps running
        if isinstance(exc, OSError) and "pango" in str(exc).lower():
            return ["缺少 PDF 排版所需的系统库 Pango（1.44 或更新版本；Debian/Ubuntu 软件包 libpango-1.0-0 和 "
                    "libpangoft2-1.0-0）。请由管理员安装后重新启动。在此之前，PDF 文件一律不生成。"]
        return [f"试生成 PDF 失败：{exc}。在此之前，PDF 文件一律不生成。"]
    return []


def _faces(font_dir: Path) -> tuple[tuple[int, str], ...]:
    return tuple((weight, str(path)) for weight, path in font_files(font_dir).items())


# ---------------------------------------------------------------------------- the rendering pool

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


async def in_rendering_process(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a rendering child process; its exceptions are raised here.

    A process that dies fails every call it had (``BrokenProcessPool``) and the pool is
    replaced. Each of those calls is tried again in a process of its own: one killed from
    outside costs nothing, and only a call that kills its process again fails.
    """
    try:
        return await _in_pool(function, *args)
    except BrokenProcessPool:
        alone = _new_pool(workers=1)
        try:
            return await asyncio.wrap_future(alone.submit(function, *args))
        finally:
            alone.shutdown(wait=False)


async def _in_pool(function: Callable[..., T], *args: Any) -> T:
    pool = _executor()
    try:
        return await asyncio.wrap_future(pool.submit(function, *args))
    except BrokenProcessPool:
        _discard(pool)
        raise


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _new_pool(workers=RENDER_WORKERS)
        return _pool


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # spawn: a child that shares nothing with the server's threads, event loop or sockets.
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_serve_the_server)


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------- in the child process

def _serve_the_server() -> None:
    # Ctrl-C reaches the whole process group: the server shuts the pool down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A server that is killed cannot: its rendering processes go with it.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)


def make_pdf(html: str, faces: tuple[tuple[int, str], ...]) -> bytes:
    """HTML to PDF with only the bundled font (runs in a rendering child process)."""
    import warnings

    # WeasyPrint asks for the system HarfBuzz-subset library, and for system fonts. Neither is
    # needed: the font comes cut down to this document's characters, so WeasyPrint's own subsetting
    # (fontTools without that library) is quick; hinting=True spares it stripping hints already gone.
    warnings.filterwarnings("ignore", message="HarfBuzz-Subset will be required")
    warnings.filterwarnings("ignore", message="No fonts configured in FontConfig")
    warnings.filterwarnings("ignore", message="FontConfig cannot load default config file")
    from weasyprint import CSS, HTML  # imported here: Pango is loaded only in the child
    from weasyprint.text.fonts import FontConfiguration

    characters = set(unescape(html)) | set(ALWAYS_KEPT)
    with tempfile.TemporaryDirectory(prefix="trading-pdf-") as folder:
        rules = []
        for weight, path in faces:
            subset = Path(folder) / f"{weight}.ttf"
            subset.write_bytes(_subset(path, characters))
            rules.append(f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: {weight}; '
                         f'src: url("{subset.as_uri()}"); }}')
        rules.append(f'html {{ font-family: "{FONT_FAMILY}"; }}')
        fonts = FontConfiguration()
        stylesheet = CSS(string="\n".join(rules), font_config=fonts)
        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(stylesheets=[stylesheet], font_config=fonts,
                                                                    hinting=True)


def _subset(path: str, characters: set[str]) -> bytes:
    """The font at ``path`` with only the glyphs of ``characters`` (and what shaping them needs)."""
    import uharfbuzz

    face = uharfbuzz.Face(uharfbuzz.Blob.from_file_path(path))
    if face.glyph_count == 0:  # not a font (a broken download): refused, never boxes for text
        raise ValueError(f"{path} is not a usable font")
    wanted = uharfbuzz.SubsetInput()
    wanted.flags = uharfbuzz.SubsetFlags.NO_HINTING  # PDF viewers hint themselves (WeasyPrint's default too)
    wanted.unicode_set.update(ord(character) for character in characters)
    subset = uharfbuzz.subset(face, wanted)
    if subset is None:
        raise ValueError(f"font {path} could not be subset")
    return subset.blob.data
