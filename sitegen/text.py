"""Text safe to publish: what neither HTML nor XML may contain never reaches a page."""

from __future__ import annotations

import re
from dataclasses import dataclass

# C0 and C1 controls (but tab and line feed) and the non-characters: neither XML nor HTML allows them
_FORBIDDEN = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ufdd0-\\ufdef\\ufffe\\uffff]")

# In UTF-8 the C0 controls above (and CR, which read_text turns into LF) and DEL are single
# bytes, and every other forbidden code point starts with C2 (C1 controls) or EF (U+FDD0–U+FDEF,
# U+FFFE, U+FFFF).  This table maps all of those bytes to 0 and every other byte to 1.
_SUSPECT = bytes(
    0 if (b < 0x20 and b not in (0x09, 0x0A, 0x0D)) or b in (0x7F, 0xC2, 0xEF) else 1 for b in range(256)
)


def clean_text(text: str) -> str:
    """Forbidden code points become U+FFFD, one for one, so every column stays where it was."""
    return _FORBIDDEN.sub("\ufffd", text)


def may_need_cleaning(data: bytes) -> bool:
    """False only if the UTF-8 `data` holds nothing `clean_text` would replace.

    Decided at C speed, one table lookup per byte: the regex walks every character in
    `re`'s matcher, a large share of reading a big site.  Texts with C2 or EF bytes (a
    no-break space, a degree sign, full-width forms) just take the regex."""
    return b"\0" in data.translate(_SUSPECT)


def percent_encoded(char: str) -> str:
    """A character as an address writes it: its UTF-8 bytes, each %XX (a no-break space is %C2%A0)."""
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


_WEB_ADDRESS = re.compile(r"(?i)(https?)://([^/?#]*)(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class WebAddress:
    scheme: str
    userinfo: str  # before an `@`, if any
    host: str
    port: str
    rest: str  # path, query and fragment


def web_address(url: str, forbidden: re.Pattern[str]) -> WebAddress | str:
    """The parts of an http(s) address naming a host, or why it is none; `forbidden`: the
    characters it may not hold as they are (each told as its percent-encoding)."""
    found = _WEB_ADDRESS.match(url)
    if found is None:
        return "must be an http:// or https:// address"
    bad = forbidden.search(url)
    if bad is not None:
        return f"cannot hold {bad.group()!r} as it is: write it as {percent_encoded(bad.group())}"
    scheme, authority, rest = found.groups()
    userinfo, _, host_port = authority.rpartition("@")
    host, _, port = host_port.partition(":")
    if not host:
        return "names no host"
    return WebAddress(scheme, userinfo, host, port, rest)
