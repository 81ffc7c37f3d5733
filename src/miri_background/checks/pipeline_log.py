"""What a jwst pipeline call may warn of on a well-formed association, and what it may not.

Image2Pipeline (jwst 3.0.0 docs, "calwebb_image2" and "Level 2 Associations") processes each
product of a level-2b association: its one science member, background-subtracted with the
product's background members. On an association made as the notebook makes it
(``asn_from_list(..., rule=DMSLevel2bBase)``, one science member per product, backgrounds
appended) nothing is missing or ambiguous, so the pipeline has nothing to warn of; a warning
that it found the wrong number of science files, several products where it expected one,
or ignored an output name means it misread the association. The warnings such a call
does give are listed in `ALLOWED`, each with the documented reason it is not a
misreading.
"""

from __future__ import annotations

ALLOWED = {
    "Input association file contains path information": (
        "jwst.associations warns of any member given with a directory (docs: 'Association "
        "Files', expname is a file name); the suite gives absolute paths on purpose, since "
        "Image2Pipeline finds relative members only from the association's directory"
    ),
    "DeprecationWarning (": (
        "a Python DeprecationWarning raised inside the call (`jwst_env.call_guarded` logs "
        "it as '<category> (<file>:<line>) <text>'), e.g. stpipe calling a CRDS function "
        "CRDS deprecates: Python's category for an API a library will remove, about the "
        "code, never the data; jwst's own warnings are log records and stay checked"
    ),
}
"""Substring of an allowed warning -> why it does not mean the association was misread."""


def unexpected(messages: tuple[str, ...] | list[str]) -> list[str]:
    """The ``messages`` (WARNING or above) that contain no `ALLOWED` substring."""
    return [m for m in messages if not any(text in m for text in ALLOWED)]


def problem(what: str, messages: tuple[str, ...] | list[str]) -> str | None:
    """None if every message is `ALLOWED`, else a failure message naming ``what`` ran and
    each unexpected warning."""
    bad = unexpected(messages)
    if not bad:
        return None
    listed = "\n".join(f"  {m}" for m in bad)
    return (
        f"{what}: {len(bad)} unexpected pipeline warning(s) on a well-formed association "
        f"(allowed: {', '.join(repr(a) for a in ALLOWED)}):\n{listed}"
    )
