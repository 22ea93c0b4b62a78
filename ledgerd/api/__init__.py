"""The HTTP API: start any daemon, read its status and result, list and decide approvals.

`create_app(settings)` builds it; `python -m ledgerd.api --port 8000` serves it (and
`ledgerd dev` supervises it). OpenAPI docs are at `/docs`, the schema at `/openapi.json`.
"""

from ledgerd.api._app import create_app

__all__ = ["create_app"]
