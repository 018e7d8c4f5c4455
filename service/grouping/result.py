"""Result types of the grouping step."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignaturePart:
    """One element considered for the signature, with whether it counts and why.

    ``reason`` starts with ``kept:`` or ``skipped:`` and is meant for people.
    The fingerprint never depends on its wording.
    """

    value: str
    contributes: bool
    reason: str


@dataclass(frozen=True)
class GroupingResult:
    """Fingerprint, display fields and explanation of one report's grouping."""

    fingerprint: str  # hex SHA-256
    title: str
    culprit: str
    issue_type: str  # "crash", "anr", "hang" or "error"
    parts: list[SignaturePart] = field(default_factory=list)
