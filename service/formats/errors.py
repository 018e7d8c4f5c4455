"""Errors raised by the input format parsers."""


class InvalidPayload(ValueError):
    """A payload that cannot be turned into a CrashReport.

    The message is shown to the sender (HTTP 400 ``detail``) and on the
    quarantined payload, so it names the field and the problem but never
    quotes payload contents.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedReport(InvalidPayload):
    """A well-formed report of a kind that is not an app crash, such as a kernel panic."""
