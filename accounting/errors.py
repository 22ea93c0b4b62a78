"""Typed errors of the accounting platform's handlers.

Each says what was refused and why, in words a caller (or a model reading a `tool_result`)
can act on. They carry no row data of another tenant.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base class: a handler refused a request."""


class AccessDenied(PlatformError):
    """The principal may not do this: another tenant's data, or a role without the right."""


class NotFound(PlatformError):
    """The referenced record does not exist in the caller's tenant."""


class InvalidRequest(PlatformError):
    """The request is well-typed but not acceptable (e.g. an unknown account code)."""
