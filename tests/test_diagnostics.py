"""The text format of diagnostics: the source line and a caret under exactly the span."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_files

from sitegen.diagnostics import Span, error, format_text


def _caret_lines(line: str, column: int, end_column: int) -> tuple[str, str]:
    diag = error("SG202", Span("a.md", 1, column, 1, end_column), "message")
    shown = format_text([diag], {"a.md": line + "\n"}).splitlines()
    source = next(row for row in shown if row.startswith("1 | "))
    caret = next(row for row in shown if row.strip(" |^") == "" and "^" in row)
    return source.removeprefix("1 | "), caret.removeprefix("  | ")


@pytest.mark.parametrize(
    ("line", "target"),
    [
        ("Khan 178 of 340 <<seats NA=178/340>>.", "NA=178/340"),
        # wide characters take two cells: the caret must still stand under the argument
        ("投票 178 of 340 <<seats NA=178/340>>.", "NA=178/340"),
        ("選挙で投票 <<seats 投票=178/340>>.", "投票=178/340"),
        # a combining mark takes none
        ("Cafe\u0301 178 of 340 <<seats NA=178/340>>.", "NA=178/340"),
        # nor do Thai vowel signs (combining class 0, but drawn on the consonant) or a zero-width joiner
        ("\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 178 <<seats NA=178/340>>.", "NA=178/340"),
        ("a\u200db 178 <<seats NA=178/340>>.", "NA=178/340"),
        # an emoji made wide by its variation selector: two cells
        ("\u26a0\ufe0f 178 <<seats NA=178/340>>.", "NA=178/340"),
    ],
)
def test_the_caret_stands_under_the_span(line: str, target: str) -> None:
    start = line.index(target)
    source, caret = _caret_lines(line, start + 1, start + 1 + len(target))
    cells = [2 if "\u3000" <= c <= "\u9fff" else 0 if c in "\u0301\u0e31\u0e35\u200d" else 1 for c in source]
    # ⚠ + VS16 is two cells, however split between them
    assert caret.index("^") == sum(cells[:start])
    assert caret.count("^") == sum(cells[start : start + len(target)])


def test_a_span_past_the_end_of_the_line_is_underlined_to_one_past_its_end() -> None:
    _, caret = _caret_lines("Text <<seats", 6, 16)
    assert caret == " " * 5 + "^" * 8


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ("draft: 2021-01-01", "`draft` must be true or false, not the date 2021-01-01"),
        ("draft: [yes]", "`draft` must be true or false, not a list"),
        ("draft: 3", "`draft` must be true or false, not 3"),
        ("author: !!python/object:os.system x", "invalid value for `author`: could not determine"),
    ],
)
def test_front_matter_messages_speak_yaml_not_python(lines: str, says: str) -> None:
    from sitegen.article import parse_article

    doc = parse_article("a.md", f"---\ntitle: T\ndate: 2021-01-01\n{lines}\n---\nText.\n")
    [message] = [d.message for d in doc.diagnostics]
    assert message.startswith(says)
    assert "\n" not in message and "datetime" not in message and "None" not in message


def test_a_file_name_that_is_not_utf8_still_makes_valid_json_and_workflow_commands() -> None:
    import json

    from sitegen.diagnostics import Summary, format_github, format_json

    diag = error("SG202", Span("content/articles/bad\udcff.md", 1, 1, 1, 2), "message \udcfe")
    text = format_json([diag], Summary(1, 1, 1, 0))
    assert json.loads(text.encode("utf-8"))["diagnostics"][0]["file"] == "content/articles/bad\ufffd.md"
    assert "bad\ufffd.md" in format_github([diag]).encode("utf-8").decode("utf-8")


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("<<claim src=2021-03-05-dawn>>", '"2021-03-05-dawn"'), ("<<claim src=001-a>>", '"001-a"')],
)
def test_a_value_that_starts_as_a_number_but_is_not_one_is_told_to_be_quoted(text: str, quoted: str) -> None:
    from sitegen.annotations import SyntaxProblem, parse_annotation

    problem = parse_annotation(text)
    assert isinstance(problem, SyntaxProblem)
    assert problem.help is not None and problem.help.endswith(f"double quotes: {quoted}")


class _CountingTexts(dict):
    looked_up = 0

    def get(self, key, default=None):
        self.looked_up += 1
        return super().get(key, default)


def test_a_file_with_many_diagnostics_is_split_into_lines_once() -> None:
    """Splitting the file for each of its diagnostics made 40,000 of them take 80 s to print."""
    text = "".join(f"line {i} <<pct 1/2 50%>>\n" for i in range(2000))
    texts = _CountingTexts({"a.md": text})
    diags = [error("SG209", Span("a.md", i, 8, i, 23), f"d{i}") for i in range(1, 2001)]
    shown = format_text(diags, texts)
    assert texts.looked_up == 1
    assert "1999 | line 1998 <<pct 1/2 50%>>" in shown and shown.count("^" * 15) == 2000


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\r"])
def test_the_line_shown_is_the_line_counted_at_line_feeds_only(separator: str) -> None:
    # positions count lines at "\n" only; splitlines() would also break at these
    text = f"First{separator}line with a separator.\nThe 178 of 343 <<seats NA=178/343>>.\n"
    diag = error("SG202", Span("a.md", 2, 21, 2, 31), "message")
    shown = format_text([diag], {"a.md": text})
    assert "2 | The 178 of 343 <<seats NA=178/343>>." in shown


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # a fact's name alone would hide the figure that is wrong
        ("<<fact i=7>> 169 and 164 <<tally Gilani=169 Shaikh=164 margin=@i>>.", "margin @i (7) is wrong"),
        # the rounding is shown at the stated precision, as the help writes it
        ("One in a hundred, 0.5% <<pct 1/100 0.5%>>.", "which rounds to 1.0%, not 0.5%"),
        # a long value is shortened visibly, never into another number
        (f"Seats <<threshold NA majority=1{'0' * 5000}>>.", "100000000000…000000 (5001 characters)"),
        ("A third <<pct 1/3 33.3333333333333333333%>>.", "has more decimal places than any figure"),
        # SG201 shows the sum it compares with the body, and values as written
        ("Cast <<votes NA for=300 against=40 abstain=5>>.", "300 + 40 + 5 = 345 votes cast, more than"),
        ("Cast <<votes NA for=300 against=40 total=345>>.", "a total vote of 345, more than the body has"),
        ('Said <<seats NA=178/342 majority="yes">>.', 'must be yes or no, not `"yes"`'),
        ("Short of it, 170 of 342 <<seats NA=170/342 majority=true>>.", "majority=true is wrong"),
        # a source named twice is named once; two of them are sources
        ('Said <<claim src=001 src=001 quote="nothing like it">>.', 'not found in source 001: "'),
        ('Said <<claim src=001 src=002 quote="nothing like it">>.', 'not found in sources 001, 002: "'),
        # a rule on the strength names the day that gave it (the case is dated 2022-04-01)
        (
            "Needs 172 <<threshold NA sitting_majority=172 date=2021-03-06>>.",
            "floor(341/2)+1 (strength 341 on 2021-03-06) = 171, not 172",
        ),
    ],
)
def test_messages_show_the_figures_as_written(body: str, says: str, fixture_site: Path) -> None:
    from sitegen.pipeline import check_site

    text = f"---\ntitle: Case\ndate: 2022-04-01\n---\n{body}\n"
    write_files(fixture_site, {"content/articles/case.md": text})
    messages = [d.message for d in check_site(fixture_site, use_cache=False).diagnostics]
    assert any(says in m for m in messages), messages


def test_a_file_name_cannot_print_a_line_of_its_own() -> None:
    name = "content/articles/a\nerror[SG000]: fake.md"
    diag = error("SG502", Span(name, 1, 1, 1, 2), f"slug 'a' is already used by {name}", help=name)
    shown = format_text([diag], {})
    assert "\nerror[SG000]" not in shown and "a\\nerror[SG000]: fake.md:1:1" in shown


def test_a_clipped_line_shows_an_ellipsis_only_where_text_is_left_out() -> None:
    line = "x" * 300 + " <<seats NA=178/340>>."
    start = line.index("NA=")
    source, _ = _caret_lines(line, start + 1, start + 11)
    assert source.startswith("…") and source.endswith("<<seats NA=178/340>>.")


def test_an_id_no_source_file_can_have_is_not_offered_as_a_file_to_add(fixture_site: Path) -> None:
    from sitegen.pipeline import check_site

    text = '---\ntitle: Case\ndate: 2022-04-01\n---\nHe said <<claim src="my src">>.\n'
    write_files(fixture_site, {"content/articles/case.md": text})
    [diag] = [d for d in check_site(fixture_site, use_cache=False).diagnostics if d.code == "SG302"]
    assert diag.help is not None and "add content/sources" not in diag.help and "letters, digits" in diag.help


def test_an_unclosed_quote_in_front_matter_is_traced_to_where_it_began() -> None:
    from sitegen.article import parse_article

    doc = parse_article("a.md", '---\ntitle: "A\ndate: 2021-03-06\n---\nText.\n')
    [diag] = [d for d in doc.diagnostics if d.code == "SG501"]
    assert diag.help == "the quoted value begun at line 2:8 has no closing quote"


def test_a_yaml_error_that_is_no_open_quote_keeps_the_plain_help() -> None:
    from sitegen.article import parse_article

    doc = parse_article("a.md", "---\ndate: 2021-03-06\ntitle: 'Khan's win\n---\nText.\n")
    [diag] = [d for d in doc.diagnostics if d.code == "SG501"]
    assert diag.help == "check quoting and indentation"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("a << b and <<seats NA=1/2>>", "before the next `<<`"),
        ("He said <<claim src=001 >", "on the same line"),
        # the `<<` inside its own string is no next annotation; nor is a `>>` its end
        ('He said <<claim src=001 quote="a << b', "a string in it is never closed"),
        ('He said <<claim src=001 quote="x>> and more.', "a string in it is never closed"),
    ],
)
def test_an_unterminated_annotation_says_what_came_first(body: str, says: str) -> None:
    from sitegen.article import parse_article

    doc = parse_article("a.md", f"---\ntitle: T\ndate: 2021-01-01\n---\n{body}\n")
    assert says in doc.annotations[0].parsed.message


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        ("> " * 19 + "deep.", False),
        ("> " * 20 + "deep.", True),
        ("\n".join("  " * depth + "- item" for depth in range(9)), False),
        ("\n".join("  " * depth + "- item" for depth in range(10)), True),
    ],
)
def test_the_nesting_limit_is_the_one_its_message_states(
    body: str, refused: bool, fixture_site: Path
) -> None:
    """19 block quotes or 9 lists one in another are read; one level more is SG501, whose message
    says so with the same numbers."""
    from sitegen.pipeline import check_site

    text = f"---\ntitle: Case\ndate: 2022-04-01\n---\n{body}\n"
    write_files(fixture_site, {"content/articles/case.md": text})
    found = [d.message for d in check_site(fixture_site, use_cache=False).diagnostics if d.code == "SG501"]
    assert bool(found) == refused, found
    if refused:
        assert "reads 19 levels" in found[0] and "(19 block quotes, or 9 lists one in another)" in found[0]



SOURCE_FILE = "---\ntitle: T\npublisher: P\ndate: 2021-03-05\n---\nText.\n"


@pytest.mark.parametrize("name", ["_bad", "-lead", "a b", "x" * 101])
def test_a_bad_source_id_is_told_the_whole_rule(name: str, fixture_site: Path) -> None:
    """`_bad` is made of allowed characters: the message must also say where it has to start."""
    from sitegen.pipeline import check_site

    write_files(fixture_site, {f"content/sources/{name}.md": SOURCE_FILE})
    diags = check_site(fixture_site, use_cache=False).diagnostics
    [message] = [d.message for d in diags if d.code == "SG501"]
    assert "must start with a letter or digit" in message and "at most 100 characters" in message


@pytest.mark.parametrize(
    ("body", "helps"),
    [
        # the body's size is no argument to change: the help points at the parts
        ("Seats <<sum NA gov=178 opp=160 date=2021-03-06>>.", "leave 3 seats of the 341 filled seats"),
        ("Seats <<sum NA gov=178 opp=170>>.", "come to 6 seats more than the 342 seats"),
        # flipping one majority= for two bodies that differ only moves the error
        (
            "Seats <<seats Senate=53/100 NA=160/342 majority=yes>>.",
            "the Senate has a majority and the National Assembly has not: give each body an annotation",
        ),
        # the figure may be right and the rule the wrong one
        (
            "Needs <<threshold NA majority=171 date=2021-03-06>>.",
            "write majority=172, or, if 171 is right, name the rule that gives it: `sitting_majority`",
        ),
        ("He said <<claim src=001 quote=“so”>>.", 'straight double quotes ("), not typographic ones'),
        ("Share <<pct 178/342 52>>.", "write 52%"),
        # two bodies on one side: the verb agrees
        (
            "Seats <<seats Senate=53/100 NA=160/342 Senate=60/100 majority=yes>>.",
            "has a majority",
        ),
        # a total of the seats where the counts add up to the strength
        (
            "Cast <<votes NA for=178 against=160 absent=3 total=342 date=2021-03-06>>.",
            "341 is the National Assembly's strength on 2021-03-06 and 342 its seats",
        ),
    ],
)
def test_helps_point_at_what_to_change(body: str, helps: str, fixture_site: Path) -> None:
    from sitegen.pipeline import check_site

    text = f"---\ntitle: Case\ndate: 2022-04-01\n---\n{body}\n"
    write_files(fixture_site, {"content/articles/case.md": text})
    found = [d.help or "" for d in check_site(fixture_site, use_cache=False).diagnostics]
    assert any(helps in h for h in found), found


@pytest.mark.parametrize(
    ("front", "helps"),
    [
        ("title: Khan: the vote\ndate: 2021-03-06\n", 'goes in quotes: title: "Khan: the vote"'),
        ("title: T\ntags:\n\t- a\ndate: 2021-03-06\n", "a tab cannot indent it"),
        ("title: [T\ndate: 2021-03-06\n", "check quoting and indentation"),
        # a key indented by mistake: its own colon is where YAML stops, and quotes would not help
        ("title: ok\nsummary: some text\n  date: 2024-03-15\n", "check quoting and indentation"),
        ("title: a: b # c: d\ndate: 2021-03-06\n", 'goes in quotes: title: "a: b"'),
    ],
)
def test_front_matter_slips_get_their_usual_fix(front: str, helps: str) -> None:
    from sitegen.article import parse_article

    doc = parse_article("a.md", f"---\n{front}---\nText.\n")
    [diag] = [d for d in doc.diagnostics if d.code == "SG501"]
    assert helps in (diag.help or ""), diag.help


def test_a_date_hint_needs_a_number_before_it_and_a_long_kind_is_shown_cut() -> None:
    from sitegen.annotations import SyntaxProblem, parse_annotation

    inside = parse_annotation('<<sum a="x 2024-3-4"-5 b=1>>')
    assert isinstance(inside, SyntaxProblem)
    assert inside.message == "arguments must be separated by white space"
    loose = parse_annotation("<<seats NA=1/342 2021-3-4>>")
    assert isinstance(loose, SyntaxProblem) and loose.help == "write 2021-03-04"
    long = parse_annotation(f"<<{'K' * 5000} a=1>>")
    assert isinstance(long, SyntaxProblem) and len(long.message) < 200 and long.help is None


@pytest.mark.parametrize("use_cache", [False, True])
def test_an_error_at_a_use_of_a_conflicting_fact_names_the_value_it_took(
    fixture_site: Path, use_cache: bool
) -> None:
    from sitegen.pipeline import check_site

    head = "---\ntitle: {}\ndate: 2021-03-06\n---\n"
    write_files(
        fixture_site,
        {
            "content/articles/a.md": head.format("A") + "It holds 170 <<fact pti=170>>.\n",
            "content/articles/b.md": head.format("B")
            + "Together 178 and 163 <<sum NA gov=@pti opp=163 total=341>>, 163 <<sum NA a=@pti2 b=1>>.\n",
            "content/articles/c.md": head.format("C") + "It holds 178 <<fact pti=178>> <<fact pti2=162>>.\n",
        },
    )
    check_site(fixture_site, use_cache=use_cache)  # a second run, from the cache, says the same
    diags = check_site(fixture_site, use_cache=use_cache).diagnostics
    conflicted, plain = [d for d in diags if d.code == "SG205"]  # one uses @pti, one @pti2
    assert conflicted.help == (
        "`@pti` has conflicting definitions (SG402); this check took 170, its first,"
        " at content/articles/a.md:5:21"
    )
    assert "conflicting" not in (plain.help or "")
    assert [d.code for d in diags if d.span.file == "content/articles/c.md"] == ["SG402"]


@pytest.mark.parametrize(
    ("annotation", "code", "help"),
    [
        ("<<seats 5/9>>", "SG105", "name the body the seats are in: write BODY=5/9 (one of NA, Senate)"),
        ('<<pct 4/6 "66.7%">>', "SG104", "a figure is written without quotes: 66.7%"),
        ('<<votes NA for="178" against=160>>', "SG104", "a figure is written without quotes: 178"),
    ],
)
def test_a_misplaced_figure_gets_one_error_saying_how_to_write_it(
    fixture_site: Path, annotation: str, code: str, help: str
) -> None:
    from sitegen.pipeline import check_site

    text = f"---\ntitle: A\ndate: 2021-03-06\n---\nFive of nine, 66.7% {annotation}.\n"
    write_files(fixture_site, {"content/articles/a.md": text})
    [diag] = check_site(fixture_site, use_cache=False).diagnostics
    assert (diag.code, diag.help) == (code, help)


@pytest.mark.parametrize(
    ("body", "counted"),
    [
        ("Shift x << 2 and y << 3 here.", 0),  # SG101 each, but no annotation
        ("A line of " + "<" * 200 + " here.", 0),
        ("Begun <<seats NA=178/342 and not ended.", 1),
        ("Misspelt <<Seats NA=178/342>>.", 1),
        ("Clean 178 of 342 <<seats NA=178/342>>, and x << 2.", 1),
    ],
)
def test_the_summary_counts_annotations_not_every_bare_double_angle(
    body: str, counted: int, fixture_site: Path
) -> None:
    from sitegen.pipeline import check_site

    text = f"---\ntitle: Case\ndate: 2022-04-01\n---\n{body}\n"
    write_files(fixture_site, {"content/articles/case.md": text})
    checked = check_site(fixture_site, use_cache=False)
    others = sum(o.annotations for o in checked.outcomes if o.path != "content/articles/case.md")
    assert checked.summary.annotations - others == counted
