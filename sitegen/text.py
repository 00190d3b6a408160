"""Text safe to publish: what neither HTML nor XML may contain never reaches a page."""

from __future__ import annotations

import re

# C0 and C1 controls (but tab and line feed) and the non-characters: neither XML nor HTML allows them
_FORBIDDEN = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ufdd0-\\ufdef\\ufffe\\uffff]")


def clean_text(text: str) -> str:
    """Forbidden code points become U+FFFD, one for one, so every column stays where it was."""
    return _FORBIDDEN.sub("\ufffd", text)
