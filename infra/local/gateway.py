"""The local stand-in for API Gateway: two ASGI apps sharing one connection registry.

- the public app (what browsers talk to): ``/ws`` (websocket API), every other path to the
  REST API through Chalice's LocalGateway (``/api/...``, and the app's ``/widget/...`` and
  ``/console/...`` routes), ``/`` optionally redirected (to the console);
- the management app (what handlers talk to, on its own port):
  ``/{stage}/@connections/{id}`` and ``/_local/metrics``.

The Chalice app and the way its websocket handlers are found are injected, so tests can
run the gateway against a throwaway app::

    apps = create_apps(chalice_app)            # handlers from app.handler_map
    apps = create_apps(chalice_app, handler_lookup=module_handler_lookup(module))
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chalice import Chalice
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from .connections import ConnectionRegistry
from .events import ApiInfo
from .invoker import HandlerInvoker, HandlerLookup, websocket_handlers
from .management import create_management_app
from .rest import RestBridge
from .websocket import FRAME_LIMIT_BYTES, SocketSettings, WebSocketBridge

HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HANDLER_THREADS = 16


@dataclass(frozen=True)
class GatewaySettings:
    api: ApiInfo = ApiInfo()
    max_frame_bytes: int = FRAME_LIMIT_BYTES
    root_redirect: str | None = None  # where "/" redirects, e.g. "/console/index.html"
    function_prefix: str = "parley-local"


@dataclass
class GatewayApps:
    public: Starlette
    management: Starlette
    registry: ConnectionRegistry
    executor: ThreadPoolExecutor


def create_executor(threads: int = HANDLER_THREADS) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lambda")


def create_gateway_app(
    chalice_app: Chalice,
    registry: ConnectionRegistry,
    executor: ThreadPoolExecutor,
    settings: GatewaySettings = GatewaySettings(),
    handler_lookup: HandlerLookup | None = None,
) -> Starlette:
    """The public app. ``handler_lookup`` maps a websocket handler config to its callable."""
    invoker = HandlerInvoker(websocket_handlers(chalice_app, handler_lookup), executor, settings.function_prefix)
    sockets = WebSocketBridge(registry, invoker, SocketSettings(settings.api, settings.max_frame_bytes))
    rest = RestBridge(chalice_app, executor, stage=settings.api.stage)
    routes: list[BaseRoute] = [WebSocketRoute("/ws", sockets.handle)]
    if settings.root_redirect:
        routes.append(Route("/", _redirect_to(settings.root_redirect), methods=["GET", "HEAD"]))
    routes.append(Route("/{path:path}", rest.handle, methods=HTTP_METHODS))  # as API Gateway: all to the app
    return Starlette(routes=routes)


def create_apps(
    chalice_app: Chalice,
    settings: GatewaySettings = GatewaySettings(),
    handler_lookup: HandlerLookup | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> GatewayApps:
    """The public and the management app, wired to the same connections."""
    registry = ConnectionRegistry()
    pool = executor or create_executor()
    public = create_gateway_app(chalice_app, registry, pool, settings, handler_lookup)
    return GatewayApps(public=public, management=create_management_app(registry), registry=registry, executor=pool)


def _redirect_to(target: str) -> Callable[[Request], Awaitable[Response]]:
    async def redirect(request: Request) -> Response:
        return RedirectResponse(target, status_code=302)

    return redirect
