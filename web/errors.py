"""An HTTP error whose message is an msgid, translated when the error page renders."""

from __future__ import annotations

from starlette.exceptions import HTTPException


class WebError(HTTPException):
    """An HTTP error for a web page; ``message`` is an msgid formatted with ``values``."""

    def __init__(self, status_code: int, message: str, /, **values: object) -> None:
        super().__init__(status_code, message % values if values else message)
        self.message = message
        self.values = values
