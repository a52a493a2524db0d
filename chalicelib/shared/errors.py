"""Errors the service layer raises; the edges map them to error frames or HTTP statuses."""
from __future__ import annotations


class ParleyError(Exception):
    code = "internal"
    status = 500

    def __init__(self, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.client_id = client_id


class BadJson(ParleyError):
    code, status = "bad_json", 400


class TooLarge(ParleyError):
    code, status = "too_large", 413


class UnknownType(ParleyError):
    code, status = "unknown_type", 400


class Invalid(ParleyError):
    code, status = "invalid", 400


class NotFound(ParleyError):
    code, status = "not_found", 404


class Unauthorized(ParleyError):
    code, status = "unauthorized", 401


class Forbidden(ParleyError):
    code, status = "forbidden", 403


class Blocked(Forbidden):
    code = "blocked"
