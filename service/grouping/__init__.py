"""Grouping: decide which issue a report belongs to, and explain why.

``compute_grouping`` is the grouping step of the processing pipeline. It
runs after symbolication and ``mark_in_app``, because it reads demangled
function names and ``Frame.in_app``.
"""

from service.grouping.issue_type import classify
from service.grouping.result import GroupingResult, SignaturePart
from service.grouping.signature import build_signature, fingerprint_of
from service.grouping.title import make_culprit, make_title
from service.schema import crash_report_pb2 as pb

__all__ = ["GroupingResult", "SignaturePart", "compute_grouping"]


def compute_grouping(report: pb.CrashReport, *, config_version: str = "v1") -> GroupingResult:
    """Compute the fingerprint, title, culprit, issue type and signature explanation of ``report``.

    Raises ``ValueError`` for an unknown ``config_version``.
    """
    signature = build_signature(report, config_version)
    return GroupingResult(
        fingerprint=fingerprint_of(signature, config_version),
        title=make_title(report),
        culprit=make_culprit(report),
        issue_type=classify(report),
        parts=signature.parts,
    )
