"""The Litestar application factory: routes, errors, OpenAPI, CORS, lifespan.

This module is the one place that registers controllers, dependencies and exception handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from mas import __version__, modules
from mas.bootstrap import build_container
from mas.core.identity.policy import Caller, Platform
from mas.core.identity.tokens import RequestInfo
from mas.http.auth import access_guard, provide_caller, provide_request_info
from mas.http.errors import EXCEPTION_HANDLERS
from mas.http.middleware import platform_middleware, request_context
from mas.jobs.runner import register_all
from mas.jobs.scheduler import Scheduler, effective_crons, release_due_loop
from mas.modules.container import Container
from mas.observability import configure_logging
from mas.settings import Settings, load_settings

log = logging.getLogger("mas.http")


class UnclassifiedRoute(RuntimeError):
    """A route names no policy the domains declare (or an unknown page or vendor scope)."""


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the app. A given ``container`` is used as is and left open (tests own it)."""
    settings = settings or (container.settings if container else load_settings())
    if container is None:
        configure_logging(settings.log_level, settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = container is None
        c = container or await build_container(settings)
        app.state.container = c
        register_all(c.broker, c)
        if owned:
            await c.start_broker()
        stop = asyncio.Event()
        loops = []
        if settings.broker == "memory":
            # The embedded default: this process is also the worker, so it releases due runs.
            loops.append(asyncio.create_task(release_due_loop(c, stop)))
        if settings.run_scheduler_in_server:
            loops.append(
                asyncio.create_task(
                    Scheduler(c, effective_crons(settings.cron_overrides)).run(stop)
                )
            )
        log.info("http.started", extra={"adapters": c.adapters()})
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*loops, return_exceptions=True)
            if owned:
                await c.close()

    async def provide_container() -> Container:
        return app.state.container  # type: ignore[no-any-return]

    def domain_provider(name: str) -> Provide:
        async def provide() -> Any:
            return app.state.container.domains[name]

        return Provide(provide)

    cors = CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None
    app = Litestar(
        route_handlers=modules.controllers(),
        lifespan=[lifespan],
        guards=[access_guard],
        dependencies={
            "container": Provide(provide_container),
            "caller": Provide(provide_caller),
            "info": Provide(provide_request_info),
            **{module.name: domain_provider(module.name) for module in modules.MODULES},
        },
        signature_namespace={
            "Container": Container,
            "Caller": Caller,
            "RequestInfo": RequestInfo,
            **{module.services.__name__: module.services for module in modules.MODULES},
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[platform_middleware(Platform(settings.default_platform))],
        cors_config=cors,
        openapi_config=OpenAPIConfig(
            title="mas API",
            version=__version__,
            description="Backend of the MAS edtech and recruitment suite.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
        logging_config=None,  # mas.observability owns logging
    )
    _open_schema_routes(app)
    app.state.policies = modules.POLICY_TABLE
    check_routes(app)
    app.asgi_handler = request_context(app.asgi_handler)
    return app


def _open_schema_routes(app: Litestar) -> None:
    """The OpenAPI document and its viewers are public; every other route names a policy."""
    schema_path = app.openapi_config.path if app.openapi_config else "/schema"
    for route in app.routes:
        if route.path == schema_path or route.path.startswith(schema_path + "/"):
            for handler in route.route_handlers:
                handler.opt["public"] = True


def check_routes(app: Litestar) -> None:
    """Refuse to start when a route is not classified: every handler is public, names a
    vendor scope some domain declares, or names a declared policy (and a declared page)."""
    policies = modules.POLICY_TABLE.guards
    pages = modules.pages()
    scopes = modules.vendor_scopes()
    problems = []
    for route in app.routes:
        for handler in route.route_handlers:
            opt = handler.opt
            where = f"{sorted(getattr(handler, 'http_methods', []) or ['WS'])} {route.path}"
            if opt.get("public") or getattr(handler, "http_methods", None) == {"OPTIONS"}:
                continue  # public, or Litestar's own OPTIONS answer
            if opt.get("vendor_scope"):
                if opt["vendor_scope"] not in scopes:
                    problems.append(f"{where}: unknown vendor scope {opt['vendor_scope']!r}")
                continue
            if opt.get("policy") not in policies:
                problems.append(f"{where}: no declared policy ({opt.get('policy')!r})")
            if opt.get("page") and opt["page"] not in pages:
                problems.append(f"{where}: unknown page {opt['page']!r}")
    if problems:
        raise UnclassifiedRoute("routes without a valid access declaration: " + "; ".join(problems))


def asgi() -> Litestar:
    """Entry point for granian (``--factory``): settings from the environment."""
    return create_app()
