"""Parley's local stack: moto + an API-Gateway-like websocket gateway + the demo shop.

Run it with ``python -m infra.local``; use :class:`infra.local.stack.LocalStack` from tests.

Modules, one concern each:

- ``events``      API Gateway websocket event shapes ($connect / $default / $disconnect)
- ``connections`` the registry of open sockets (what the Management API acts on)
- ``invoker``     runs the Chalice websocket handlers in a thread pool
- ``websocket``   one browser socket driven like API Gateway drives it (the ``/ws`` endpoint)
- ``gateway``     the public ASGI app: ``/ws``, ``/api/*`` (Chalice LocalGateway), static files
- ``management``  the API Gateway Management API (``/{stage}/@connections/{id}``) + metrics
- ``rest``        the bridge from Starlette requests to ``chalice.local.LocalGateway``
- ``static``      static file serving (no-cache, placeholder substitution)
- ``demo_shop``   the demo shop site
- ``metrics``     in-process counters (DynamoDB calls made by the handlers, ...)
- ``moto_server`` moto in server mode as a child process
- ``environment`` the stack's URLs and the PARLEY_* / AWS_* environment Parley reads
- ``servers``     several uvicorn servers in one event loop
- ``stack``       ``LocalStack``: the whole thing as a subprocess, for tests and benchmarks
"""
