"""Load a site from disk: site.toml, sources, article files (SPEC §1). Nothing here parses prose."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.config import CONFIG_FILE, SiteConfig, load_config
from sitegen.diagnostics import Diagnostic, Span, error, written
from sitegen.frontmatter import as_date, as_text, read_front_matter
from sitegen.text import clean_text, may_need_cleaning, web_address

ARTICLES_DIR = "content/articles"
SOURCES_DIR = "content/sources"
MAX_SOURCE_ID = 100


def is_source_id(text: str) -> bool:
    """A source's id, its file's stem: letters and digits of any script (with the marks written
    on them), `-`, `_` and `.`, starting with a letter or digit (never `.`, nor a path)."""
    if not text or not text[0].isalnum() or len(text) > MAX_SOURCE_ID or len(text.encode("utf-8")) > 255:
        return False
    return all(c.isalnum() or c in "-_." or unicodedata.category(c)[0] == "M" for c in text)


_FENCE = re.compile(r"(-{3,})[ \t]*\Z")


@dataclass(frozen=True)
class Source:
    id: str
    path: str
    title: str
    publisher: str
    date: dt.date | None
    url: str | None
    author: str | None
    text: str


@dataclass
class Site:
    root: Path
    config: SiteConfig
    sources: dict[str, Source] = field(default_factory=dict)
    article_paths: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # file -> text, for showing source lines


MAX_SLUG = 255  # bytes of UTF-8: a slug is a folder's name, and no file system takes a longer one


def slugify(text: str) -> str:
    """An article's slug from its file name: lowercase letters and digits of any script (Latin
    accents dropped: Élection → election), runs of anything else one hyphen, none at the ends."""
    return _cut(_slug_runs(text).strip("-"), MAX_SLUG).strip("-")


def tag_slug(text: str) -> str:
    """A tag's slug (SPEC §6): as `slugify`, but hyphens at the ends are kept, as SPEC writes the
    rule (`C++` → `c-`, `U.S.` → `u-s-`): a tag is not merged with another that only its
    punctuation tells apart.  Tags in Urdu or Japanese get pages of their own instead of all
    sharing one.  A slug too long for a folder's name is cut, and the cut one told apart by a
    digest of the whole, so that two long tags do not share a page by accident."""
    slug = _slug_runs(text.strip())
    if len(slug.encode("utf-8")) <= MAX_SLUG:
        return slug
    whole = hashlib.sha256(slug.encode("utf-8")).hexdigest()[:10]
    return f"{_cut(slug, MAX_SLUG - 11)}-{whole}"


def is_slug(text: str) -> bool:
    """A slug as written in front matter (SPEC §1): lowercase letters (with the marks written on
    them), digits and hyphens, in any script (a letter of a script without case, Urdu's, is no
    capital), short enough to name a folder."""
    if not text or len(text.encode("utf-8")) > MAX_SLUG:
        return False
    previous = "-"
    for char in text:
        if char.isalnum():
            if char.lower() != char:
                return False
        elif char != "-" and not (unicodedata.category(char)[0] == "M" and previous != "-"):
            return False
        previous = char
    return True


def _slug_runs(text: str) -> str:
    """Lowercase letters and digits of any script with the marks written on them (a Devanagari
    vowel sign, a Japanese voicing mark), Latin accents dropped; every run of anything else one
    hyphen."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if char.isalnum():
            out.append(char.lower())
        elif unicodedata.category(char)[0] == "M" and out and out[-1] != "-":
            if not out[-1].isascii():  # é is e, but ガ stays ガ and ि stays on its letter
                out.append(char)
        elif not out or out[-1] != "-":
            out.append("-")
    return unicodedata.normalize("NFC", "".join(out))


def _cut(text: str, limit: int) -> str:
    """The longest start of `text` whose UTF-8 takes at most `limit` bytes."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def read_text(
    root: Path, rel: str, *, real_dirs: dict[str, bool] | None = None, clean: bool = True
) -> tuple[str | None, Diagnostic | None]:
    """A site file as text with `\\n` line ends; bad UTF-8 or a path out of the site is SG501.

    `clean=False` leaves the code points no page may hold as they are (`clean_text`), for
    site.toml, in which TOML itself forbids the controls among them."""
    data, problem = read_bytes(root, rel, real_dirs=real_dirs)
    if data is None:
        return None, problem
    return decode_text(rel, data, clean=clean)


def decode_text(rel: str, data: bytes, *, clean: bool = True) -> tuple[str | None, Diagnostic | None]:
    """`read_text` of bytes already read."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, not_utf8(rel, exc)
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # markdown-it turns NUL into U+FFFD; doing it (and the rest) first keeps every column the same
    return (clean_text(text) if clean and may_need_cleaning(data) else text), None


def read_bytes(
    root: Path, rel: str, *, real_dirs: dict[str, bool] | None = None
) -> tuple[bytes | None, Diagnostic | None]:
    """A site file's bytes, never through a link that leads out of the site.

    `real_dirs` remembers, for one run, which folders were found inside the site, so that a
    large site resolves each folder once instead of every path of every file.
    """
    path = os.path.join(root, rel)  # strings, not Paths: this runs for every file of a build
    try:
        if not _inside_site(root, path, real_dirs):
            return None, error("SG501", Span.point(rel), "file links outside the site; not followed")
        return _read_whole(path), None
    except OSError as exc:
        return None, error("SG501", Span.point(rel), f"cannot read file: {exc.strerror or exc}")


def _read_whole(path: str) -> bytes:
    """The file's bytes, through the system calls themselves: `open()`'s buffered file object
    cost more than the reading, for each of a large site's files (twice, when building)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def not_utf8(rel: str, exc: UnicodeDecodeError) -> Diagnostic:
    return error(
        "SG501", Span.point(rel), f"file is not valid UTF-8 (byte {exc.start})", help="save the file as UTF-8"
    )


def _inside_site(root: Path, path: str, real_dirs: dict[str, bool] | None) -> bool:
    if real_dirs is None or os.path.islink(path):
        return _within(os.path.realpath(path), os.path.realpath(root))
    folder = os.path.dirname(path)
    inside = real_dirs.get(folder)
    if inside is None:
        inside = real_dirs[folder] = _within(os.path.realpath(folder), os.path.realpath(root))
    return inside


def _within(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def split_front_matter(text: str) -> tuple[str | None, int, int]:
    """(yaml, first YAML line, first body line), lines 1-based; yaml is None when absent, and
    then the first YAML line is 2 if a fence opens it that nothing closes, else 1.

    Same fences as mdit-py-plugins' front_matter: three or more dashes on the first
    line, closed by as many dashes or `...`.
    """
    lines = text.split("\n")
    opening = _FENCE.match(lines[0]) if lines else None
    if not opening:
        return None, 1, 1
    width = len(opening.group(1))
    for index in range(1, len(lines)):
        stripped = lines[index].rstrip()
        if stripped == "..." or (set(stripped) == {"-"} and len(stripped) >= width):
            return "\n".join(lines[1:index]), 2, index + 2
    return None, 2, 1


# What ends an address in text, or breaks out of it: white space, controls, `"<>`.  Anything
# else a browser follows as written (an apostrophe: Imran_Khan's_government; `|`; `{}`).
_NOT_IN_URL = re.compile(r'[\s\x00-\x1f\x7f-\x9f"<>]')


def _url_problem(url: str) -> str | None:
    """Why a source's `url` is no http(s) address a reader's browser can follow, or None."""
    parts = web_address(url, _NOT_IN_URL)
    return parts if isinstance(parts, str) else None


def list_markdown(root: Path, folder: str, problems: list[Diagnostic] | None = None) -> list[str]:
    """*.md files under folder (recursively), relative with `/`, never through a link out of the site.

    What keeps an article from being found is put in `problems` (a folder that cannot be read,
    a `.md` link that leads nowhere or in a loop, `content/articles` a file): a build that
    quietly lost part of the site would publish it without them.  Links to folders and
    links out of the site are not followed (see README)."""
    problems = [] if problems is None else problems
    base = root / folder
    try:
        if not stat.S_ISDIR(os.stat(base).st_mode):
            problems.append(error("SG501", Span.point(folder), f"{folder} is not a folder of Markdown files"))
            return []
    except FileNotFoundError:
        return []  # a site without articles (or sources) yet
    except OSError as exc:
        problems.append(error("SG501", Span.point(folder), f"cannot read folder: {exc.strerror or exc}"))
        return []
    found: list[str] = []
    real_root = root.resolve()
    stack = [(base, folder)]
    while stack:
        directory, rel = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            problems.append(error("SG501", Span.point(rel), f"cannot read folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            if entry.name.startswith((".", "#", "~")):
                continue
            name = f"{rel}/{entry.name}"
            if entry.is_symlink() and not _followed(entry, name, real_root, problems):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), name))
            elif entry.name.endswith(".md") and entry.is_file():
                found.append(name)
    return sorted(found)


def _followed(entry: os.DirEntry, name: str, real_root: Path, problems: list[Diagnostic]) -> bool:
    """Whether a link is followed: only to something inside the site; a broken one is a problem."""
    real = resolved(entry.path)
    if real is None or not real.exists():
        if entry.name.endswith(".md"):
            problems.append(error("SG501", Span.point(name), "a broken link (to nothing, or in a loop)"))
        return False
    return real.is_relative_to(real_root)  # a link out of the site is never followed


def resolved(path: str | Path) -> Path | None:
    """The real path, or None for a link in a loop (which Path.resolve raises on)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return None


def load_site(root: Path) -> Site:
    """Config, sources and the list of articles; every problem becomes a diagnostic."""
    texts: dict[str, str] = {}
    config_text, problem = (None, None)
    if (root / CONFIG_FILE).is_file():
        config_text, problem = read_text(root, CONFIG_FILE, clean=False)
    config, diags = load_config(config_text)
    if problem is not None:
        diags = [error("SG901", problem.span, problem.message)]
    if config_text is not None:
        texts[CONFIG_FILE] = config.text
    site = Site(root, config, diagnostics=list(diags), texts=texts)
    for rel in list_markdown(root, SOURCES_DIR, site.diagnostics):
        _load_source(site, rel)
    site.article_paths = list_markdown(root, ARTICLES_DIR, site.diagnostics)
    return site


def _load_source(site: Site, rel: str) -> None:
    text, problem = read_text(site.root, rel)
    if problem is not None or text is None:
        site.diagnostics.append(problem or error("SG501", Span.point(rel), "cannot read source"))
        return
    site.texts[rel] = text
    source_id = Path(rel).stem
    if not is_source_id(source_id):
        site.diagnostics.append(
            error(
                "SG501",
                Span.point(rel),
                f"source id {written(source_id)} must start with a letter or digit and hold only letters,"
                f" digits (of any script), `-`, `_` and `.`, at most {MAX_SOURCE_ID} characters"
                " and 255 bytes",
            )
        )
        return
    yaml_text, first_line, body_line = split_front_matter(text)
    fm, diags = read_front_matter(rel, yaml_text, first_line, needs=("title", "publisher", "date"))
    required = fm.present  # with none at all, its one diagnostic says what it needs
    title = as_text(fm, "title", required=required, diags=diags)
    publisher = as_text(fm, "publisher", required=required, diags=diags)
    date = as_date(fm, "date", required=required, diags=diags)
    url = as_text(fm, "url", required=False, diags=diags)
    author = as_text(fm, "author", required=False, diags=diags)
    url_problem = _url_problem(url) if url is not None else None
    if url_problem is not None:
        diags.append(error("SG501", fm.span("url"), f"a source `url` {url_problem}"))
        url = None
    if source_id in site.sources:
        first = site.sources[source_id].path
        diags.append(
            error("SG501", Span.point(rel), f"source id {written(source_id)} is already used by {first}")
        )
    site.diagnostics.extend(diags)
    if source_id not in site.sources:
        body = "\n".join(text.split("\n")[body_line - 1 :]) if yaml_text is not None else text
        site.sources[source_id] = Source(
            source_id, rel, title or source_id, publisher or "", date, url, author, body
        )
