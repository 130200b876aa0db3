"""The Litestar application, assembled in one place."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from markupsafe import Markup
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar_htmx import HTMXPlugin


from trading.database import database_url, make_engine, make_sessionmaker
from bidding.jobs import ALL_JOBS
from bidding.methods import install
from trading.event_hub import EventHub
from trading.jobs import JobContext, start_jobs, stop_jobs
from trading.keys import load_center_keys, load_secret
from trading.settings import Settings, get_settings
from trading.money import yuan
from trading.rules.calendar import PROVISIONAL_NOTE
from trading.timefmt import local_time
from web.api.accounts import AccountController, PasswordController
from web.api.agencies import AgencyController
from web.api.award import AwardNoticeController, PublicityController
from web.api.bid_documents import BidDocumentController
from web.api.bidder_keys import BidderKeyController
from web.api.bids import BidController
from web.api.clarifications import ClarificationController
from web.api.committees import AgencyDrawController, CommitteeController, InvitationController
from web.api.credit import CreditApiController
from web.api.deadline_watch import DeadlineCardController
from web.api.doc_objections import DocObjectionController
from web.api.docs import document_api
from web.api.docs_ui import LocalSwaggerUI
from web.api.draws import DrawApiController
from web.api.evaluation import EvaluationController, ExpertKeyController
from web.api.experts import ExpertController
from web.api.federation import FederationController, PartnerController, PartnerDrawController
from web.api.ledger import LedgerController
from web.api.live import live_events
from web.api.opening import OpeningController
from web.api.platform import AuditController, PlatformController, RuleSetController, health
from web.api.projects import ProjectController
from web.api.ratings import RatingController
from web.api.registrations import RegistrationController
from web.api.rooms import RoomController
from web.api.tender_documents import TenderDocumentController
from web.core.auth import CurrentUserMiddleware
from web.core.dependencies import provide_context, provide_session, provide_user
from web.core.edge import EdgeChecks
from web.core.errors import exception_handlers
from web.core.parameters import BoundedDatesSchema, type_decoders
from web.core.security_headers import API_DOCS_PATH, add_security_headers, import_map_tag
from web.core.state import AppContext
from web.pages.bidder import BidderPageController
from web.pages.bidder_keys import BidderKeyPageController
from web.pages.bidder_opening import BidderOpeningController
from web.pages.bidder_sealing import BidderSealingController
from web.pages.center import CenterPageController
from web.pages.center_pools import CenterPoolController
from web.pages.center_rooms import CenterRoomController
from web.pages.center_tenders import CenterTenderController
from web.pages.credit import CreditPageController
from web.pages.draws import DrawPageController
from web.pages.expert import ExpertPageController
from web.pages.key_resets import KeyResetPageController
from web.pages.ledger import LedgerPageController
from web.pages.live import live_page_events
from web.pages.party.notice import PartyNoticeController
from web.pages.party.projects import PartyProjectController
from web.pages.party.result import PartyResultController
from web.pages.portal import PortalController
from web.pages.public import PublicPageController
from web.pages.ratings import RatingPageController
from web.pages.service_ratings import ServiceRatingPageController
from web.pages.stats import StatsPageController
from web.pages.supervision import SupervisionPageController
from web.pages.verification import AwardVerificationPageController, ReceiptVerificationController
from web.pages.workspace import workspace
from adapters.choice import chosen_adapters

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent


def provisional_mark(provisional: bool) -> Markup:
    """Beside a deadline reckoned on a provisional calendar year: say so (every page)."""
    if not provisional:
        return Markup("")
    return Markup('<small class="provisional">（{}）</small>').format(PROVISIONAL_NOTE)


def create_app(settings: Settings | None = None, url: str | None = None) -> Litestar:
    settings = settings or get_settings()
    install()  # the trading methods and the effects of their steps (bidding.methods)
    engine = make_engine(url or database_url(settings))
    context = AppContext(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                         keys=load_center_keys(settings), adapters=chosen_adapters(settings))
    # Live events: one LISTEN connection per app worker (trading.event_hub), fanned out to SSE streams.
    context.events = EventHub.for_url(engine.url.render_as_string(hide_password=False))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await context.events.start()
        # What startup made lives as long as the app: out of the collector's full passes, which
        # otherwise stall every live stream of the worker (bench/RESULTS.md, live fan-out).
        gc.freeze()
        tasks = start_jobs(ALL_JOBS, JobContext(settings=settings, sessions=context.sessions, keys=context.keys,
                                                partner_gateway=context.partner_gateway,
                                                sender=context.adapters.sender)) \
            if settings.web_runs_jobs else []
        try:
            yield
        finally:
            await stop_jobs(tasks)
            await context.events.stop()
            gc.unfreeze()
            await engine.dispose()

    def template_globals(engine_: JinjaTemplateEngine) -> None:
        engine_.engine.globals["local_time"] = local_time
        engine_.engine.globals["yuan"] = yuan  # money in every template as yuan(fen)
        engine_.engine.globals["provisional_mark"] = provisional_mark
        engine_.engine.globals["import_map"] = import_map_tag()  # the one inline script the policy allows

    vendor = settings.frontend_dir
    app = Litestar(
        route_handlers=[
            PortalController, PublicPageController, workspace, PlatformController, RuleSetController, AuditController, health,
            DrawApiController, DrawPageController, CommitteeController, InvitationController, AgencyDrawController,
            AgencyController,
            ExpertController,
            CreditPageController, CreditApiController, RegistrationController,
            RoomController,
            live_events, live_page_events,
            ProjectController,
            RatingController,
            BidDocumentController,
            AccountController, PasswordController,
            ClarificationController,
            BidController, BidderKeyController,
            LedgerController, ReceiptVerificationController,
            OpeningController,
            EvaluationController, ExpertKeyController,
            TenderDocumentController, DocObjectionController, DeadlineCardController,
            PublicityController, AwardNoticeController, AwardVerificationPageController,
            BidderPageController, BidderSealingController, BidderKeyPageController, BidderOpeningController,
            PartyProjectController, PartyNoticeController, PartyResultController, CenterTenderController,
            ExpertPageController, SupervisionPageController,
            CenterPageController, CenterPoolController, CenterRoomController, KeyResetPageController, LedgerPageController, RatingPageController, ServiceRatingPageController, StatsPageController,
            FederationController, PartnerController, PartnerDrawController,
            create_static_files_router(path="/static", directories=[WEB_DIR / "static"], name="static"),
            create_static_files_router(path="/vendor/htmx", directories=[vendor / "htmx.org" / "dist"], name="vendor.htmx"),
            # In-browser sealing (web/static/bidder/): libsodium's ES module build and fflate.
            create_static_files_router(path="/vendor/libsodium-wrappers-sumo", name="vendor.libsodium_wrappers",
                                       directories=[vendor / "libsodium-wrappers-sumo" / "dist" / "modules-sumo-esm"]),
            create_static_files_router(path="/vendor/libsodium-sumo", name="vendor.libsodium",
                                       directories=[vendor / "libsodium-sumo" / "dist" / "modules-sumo-esm"]),
            create_static_files_router(path="/vendor/fflate", directories=[vendor / "fflate" / "esm"], name="vendor.fflate"),
            create_static_files_router(path="/vendor/echarts", directories=[vendor / "echarts" / "dist"], name="vendor.echarts"),
            create_static_files_router(path="/vendor/swagger-ui", directories=[vendor / "swagger-ui-dist"], name="vendor.swagger_ui"),
        ],
        dependencies={
            "session": Provide(provide_session),
            "context": Provide(provide_context),
            "user": Provide(provide_user),
        },
        middleware=[EdgeChecks, CurrentUserMiddleware()],
        before_send=[add_security_headers],
        exception_handlers=exception_handlers,
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine,
                                       engine_callback=template_globals),
        csrf_config=CSRFConfig(secret=load_secret(settings.session_secret_path, settings).hex(),
                               cookie_name="csrftoken",
                               # Anchored: Litestar searches the whole path, and a project coded "api"
                               # or "health" must not open its pages' forms to forged posts.
                               exclude=[r"^/api(?:/|$)", r"^/health$"]),
        openapi_config=OpenAPIConfig(
            title="公共资源交易平台 API", version="0.1.0", path=API_DOCS_PATH,
            # Served locally and started by a static script, under the pages' script policy.
            render_plugins=[LocalSwaggerUI(path=["/", "/swagger"])],
        ),
        plugins=[HTMXPlugin(), BoundedDatesSchema()],
        type_decoders=type_decoders,
        state=State({"context": context}),
        lifespan=[lifespan],
    )
    document_api(app)
    return app
