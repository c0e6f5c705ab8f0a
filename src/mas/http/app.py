"""The Litestar application factory: routes, errors, OpenAPI, CORS, lifespan.

This module is the one place that registers controllers, dependencies and exception handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.routes import HTTPRoute, WebSocketRoute

from mas import __version__, modules
from mas.adapters.telemetry import multiprocess, tracing
from mas.bootstrap import build_container
from mas.core.identity.policy import Caller, Platform
from mas.core.identity.tokens import RequestInfo
from mas.http.auth import access_guard, provide_caller, provide_request_info
from mas.http.boundary import boundary
from mas.http.errors import EXCEPTION_HANDLERS
from mas.http.metrics import scrape_metrics
from mas.http.middleware import platform_middleware, request_context
from mas.http.openapi import (
    ClosedStructSchemaPlugin,
    OfflineSwagger,
    docs_assets,
    document_problems,
)
from mas.jobs.runner import register_all
from mas.jobs.scheduler import Scheduler, effective_crons, release_due_loop
from mas.modules.container import Container
from mas.observability import configure_logging
from mas.settings import Settings, load_settings

log = logging.getLogger("mas.http")

# Litestar gives an HTTP route its ``route_handlers`` but a WebSocket route one
# ``route_handler``; the start-up route check, the OpenAPI pass and the route tests walk
# ``route_handlers`` of every route, so a WebSocket route (``/ws/meetings/…``) answers it too.
if not hasattr(WebSocketRoute, "route_handlers"):
    setattr(WebSocketRoute, "route_handlers", property(lambda route: [route.route_handler]))  # noqa: B010


class UnclassifiedRoute(RuntimeError):
    """A route names no policy the domains declare (or an unknown page or vendor scope)."""


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the app. A given ``container`` is used as is and left open (tests own it).

    The container is chosen when the app starts (its lifespan), from ``app.state.given``: a
    built app can be started again on another container (``serve_container``), which is how
    the tests reuse one app across many tests (building one costs ~0.5 s of route checks)."""
    settings = settings or (container.settings if container else load_settings())
    if container is None:
        configure_logging(settings.log_level, settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        given: Container | None = app.state.get("given")
        owned = given is None
        c = given or await build_container(settings)
        app.state.container = c
        register_all(c.broker, c)
        if owned:
            await c.start_broker()
        stop = asyncio.Event()
        loops = []
        if c.settings.broker == "memory":
            # The embedded default: this process is also the worker, so it releases due runs.
            loops.append(asyncio.create_task(release_due_loop(c, stop)))
        if c.settings.run_scheduler_in_server:
            loops.append(
                asyncio.create_task(
                    Scheduler(c, effective_crons(c.settings.cron_overrides)).run(stop)
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
                tracing.shutdown()
                multiprocess.mark_dead(os.getpid())

    async def provide_container() -> Container:
        return app.state.container  # type: ignore[no-any-return]

    def domain_provider(name: str) -> Provide:
        async def provide() -> Any:
            return app.state.container.domains[name]

        return Provide(provide)

    cors = CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None
    app = Litestar(
        route_handlers=[*modules.controllers(), docs_assets(), scrape_metrics],
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
        middleware=[boundary, platform_middleware(Platform(settings.default_platform))],
        cors_config=cors,
        openapi_config=OpenAPIConfig(
            title="mas API",
            version=__version__,
            description="Backend of the MAS edtech and recruitment suite.",
            path="/schema",
            # Swagger UI only, from an installed package: the service runs on closed networks.
            render_plugins=[OfflineSwagger(path="/swagger")],
        ),
        plugins=[ClosedStructSchemaPlugin()],
        debug=False,
        logging_config=None,  # mas.observability owns logging
    )
    app.state.given = container
    _open_schema_routes(app)
    _answer_options(app)
    document_problems(app)
    app.state.policies = modules.POLICY_TABLE
    check_routes(app)
    app.asgi_handler = request_context(app.asgi_handler)
    return app


def serve_container(app: Litestar, container: Container) -> Litestar:
    """Point a built app at ``container`` for its next start (the caller owns the container;
    the app must not be running: one app serves one container at a time)."""
    app.state.given = container
    return app


def _open_schema_routes(app: Litestar) -> None:
    """The OpenAPI document and its viewers are public; every other route names a policy."""
    schema_path = app.openapi_config.path if app.openapi_config else "/schema"
    for route in app.routes:
        if route.path == schema_path or route.path.startswith(schema_path + "/"):
            for handler in route.route_handlers:
                handler.opt["public"] = True


def _answer_options(app: Litestar) -> None:
    """``OPTIONS`` answers on every path, anonymously, with every method of the path in ``Allow``.

    Litestar adds one ``OPTIONS`` handler per path. It inherits the opt of the controller it
    sits in, so the guard asked a preflight for a token (or refused it, ``no_policy``, where
    the policy sits on the handlers); a browser never sends credentials on a preflight. And
    when several controllers share a path, Litestar rebuilds the route but keeps the first
    route's handler, whose ``Allow`` then misses the later methods: point it at the final route.
    With ``cors_origins`` set, Litestar's CORS middleware answers a preflight before routing.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler = route.route_handler_map["OPTIONS"][0]
        if handler.http_methods != {"OPTIONS"} or handler.resolve_include_in_schema():
            continue  # a handler the code declares, not Litestar's own answer
        opt = {key: value for key, value in handler.opt.items() if key != "vendor_scope"}
        handler.opt = {**opt, "public": True}
        for cell in handler.fn.__closure__ or ():
            if isinstance(cell.cell_contents, HTTPRoute):
                cell.cell_contents = route


def check_routes(app: Litestar) -> None:
    """Refuse to start when a route is not classified: every handler is public, names a
    vendor scope some domain declares, or names a declared policy (and a declared page)."""
    policies = modules.POLICY_TABLE.guards
    pages = modules.pages()
    scopes = modules.vendor_scopes()
    flags = modules.page_flags()
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
            if opt.get("flag") and opt["flag"] not in flags.get(opt.get("page"), ()):
                problems.append(f"{where}: flag {opt['flag']!r} is not one of its page's")
    if problems:
        raise UnclassifiedRoute("routes without a valid access declaration: " + "; ".join(problems))


_PREBUILT: list[Litestar] = []


def prebuild() -> None:
    """Build the app in ``mas serve``'s main process, before granian forks its workers: each
    worker then starts from this one (``asgi`` hands it over) instead of building its own,
    some 0.5 s of CPU per worker. It is not started here: each worker runs its lifespan (its
    own container, connections and loops) on its copy."""
    _PREBUILT[:] = [_built()]


def asgi() -> Litestar:
    """Entry point for granian (``--factory``): settings from the environment; the app
    ``prebuild`` made before the fork when there is one."""
    return _PREBUILT[0] if _PREBUILT else _built()


def _built() -> Litestar:
    """``create_app`` with the cyclic collector off (registering the handlers allocates much
    and frees little: some 600 collections otherwise), then what it built frozen out of the
    collector's view (and, before a fork, out of the pages a collection would copy) and the
    collector turned back on, as ``mas.__main__`` does at start."""
    gc.disable()
    try:
        return create_app()
    finally:
        gc.freeze()
        gc.enable()
