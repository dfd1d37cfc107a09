"""Error replies in the shapes the real services use: JSON for the API, XML for the storage
that serves uploads and outputs (as S3 does)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

API_VERSION = "2024-11-06"
DOC_URL = "https://docs.dev.runwayml.com/api"


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """The API's error body: ``{error, ...extra}``."""
    return JSONResponse({"error": message, **extra}, status_code=status)


def invalid(issues: list[dict[str, Any]]) -> JSONResponse:
    """The API's 400 for a body that fails validation."""
    return error(400, "Validation of body failed", issues=issues, docUrl=DOC_URL)


def storage_error(status: int, code: str, message: str = "") -> Response:
    """An S3-style XML error from the upload or download host."""
    detail = f"<Message>{message}</Message>" if message else ""
    return Response(f"<Error><Code>{code}</Code>{detail}</Error>", status_code=status,
                    media_type="application/xml")
