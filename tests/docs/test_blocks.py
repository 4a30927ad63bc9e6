"""The pure rules of the docs tests: finding fenced blocks and their markers, reading
console blocks as commands, shell words, and the page rules' violations. No server."""

from __future__ import annotations

import textwrap

import pytest

from tests.docs.blocks import (
    Block,
    ConsoleError,
    Marker,
    drop_install_prefix,
    parse_console,
    parse_markdown,
    runs_cli,
    shell_words,
    simple_commands,
    snippet_paths,
    strip_comments,
)
from tests.docs.rules import (
    console_violations,
    include_violations,
    language_violations,
    marker_violations,
    no_run_violations,
    unclosed_violations,
)


def page(text: str, path: str = "page.md") -> list[Block]:
    """The blocks of a dedented Markdown text."""
    return list(parse_markdown(textwrap.dedent(text), path).blocks)


def console(text: str) -> Block:
    """A console block of the given (dedented) lines, opening at line 10 of page.md."""
    return Block("page.md", 10, "console", textwrap.dedent(text))


# -- fences ---------------------------------------------------------------------------------------


def test_fences_of_backticks_and_tildes_give_language_line_and_text() -> None:
    """Both fence characters open a block; its line is the fence's, 1-based."""
    blocks = page(
        """\
        # Title

        ```python
        print(1)
        ```

        ~~~~ yaml title="x"
        a: 1
        ~~~~
        """
    )

    assert [("python", 3, "print(1)\n"), ("yaml", 7, "a: 1\n")] == [
        (b.language, b.line, b.text) for b in blocks
    ]
    assert 'yaml title="x"' == blocks[1].info


def test_an_indented_fence_is_dedented_by_its_own_indentation() -> None:
    """A fence inside a list or an admonition: its lines lose the fence's indentation only."""
    [block] = page(
        """\
        !!! note
            ```python
            if True:
                print(1)

            ```
        """
    )

    assert "if True:\n    print(1)\n\n" == block.text
    assert block.closed


def test_a_longer_fence_holds_shorter_ones_and_closes_only_on_its_own_kind() -> None:
    """Inside ```` fences, ``` lines and ~~~ lines are text; ```` (or longer) closes."""
    [block] = page(
        """\
        ````markdown
        ```python
        x = 1
        ```
        ~~~
        `````
        after
        """
    )

    assert "```python\nx = 1\n```\n~~~\n" == block.text
    assert block.closed


def test_backticks_in_the_info_string_are_inline_code_not_a_fence() -> None:
    """A line such as ```` ```python ```` in prose opens no block."""
    assert [] == page("Write a ```` ```python ```` fence.\n")


def test_a_fence_never_closed_runs_to_the_end_and_says_so() -> None:
    """An unclosed fence swallows the rest of the page; ``closed`` is False."""
    [block] = page("```python\nx = 1\n")

    assert ("x = 1\n", False) == (block.text, block.closed)


def test_language_is_the_first_word_lowercased_or_the_attribute_class() -> None:
    """``Python hl_lines="2"`` gives python, ``{ .console }`` gives console, none gives ''."""
    blocks = page('```Python hl_lines="2"\n```\n``` { .console }\n```\n```\n```\n')

    assert ["python", "console", ""] == [b.language for b in blocks]


# -- markers --------------------------------------------------------------------------------------


def test_markers_directly_above_a_fence_belong_to_it() -> None:
    """Stacked marker lines right above a fence are its markers, with kind and reason."""
    [block] = page(
        """\
        <!-- docs: realistic -->
        <!--docs: no-run: needs a real account-->
        ```console
        $ northflank login
        ```
        """
    )

    assert (Marker(1, "realistic"), Marker(2, "no-run: needs a real account")) == block.markers
    assert (True, True) == (block.realistic, block.no_run)
    assert ["realistic", "no-run"] == [m.kind for m in block.markers]
    assert "needs a real account" == block.markers[1].reason


def test_a_marker_separated_from_the_fence_is_stray() -> None:
    """A blank line between marker and fence leaves the marker above nothing."""
    document = parse_markdown("<!-- docs: no-run -->\n\n```python\nx\n```\n", "p.md")

    assert ((), (Marker(1, "no-run"),)) == (document.blocks[0].markers, document.stray_markers)


def test_a_marker_inside_a_block_is_text() -> None:
    """A page that shows a marker in a `text` block has no marker."""
    document = parse_markdown("```text\n<!-- docs: no-run -->\n```\n", "p.md")

    assert ((), ()) == (document.blocks[0].markers, document.stray_markers)


def test_unknown_markers_are_not_known() -> None:
    """Only no-run, no-run: reason and realistic are known markers."""
    markers = [Marker(1, t) for t in ("no-run", "no-run: why", "realistic", "skip", "norun")]

    assert [True, True, True, False, False] == [m.known for m in markers]


# -- include-only blocks --------------------------------------------------------------------------


def test_include_only_blocks_give_their_paths_others_none() -> None:
    """Only blocks made of ``--8<-- "path"`` lines are include-only."""
    include, mixed, code = page(
        """\
        ```python
        --8<-- "examples/worker_pool.py"
        --8<-- 'examples/standalone.py:10:20'
        ```
        ```python
        --8<-- "examples/worker_pool.py"
        print(1)
        ```
        ```python
        print(1)
        ```
        """
    )

    assert ["examples/worker_pool.py", "examples/standalone.py:10:20"] == snippet_paths(include)
    assert (None, None) == (snippet_paths(mixed), snippet_paths(code))
    document = parse_markdown(f"```python\n{include.text}```\n```python\nx\n```\n", "p.md")
    assert ["x\n"] == [b.text for b in document.python_blocks()]


# -- shell words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("pip install .   # the SDK", "pip install ."),
        ("echo 'a # b' \"c # d\" e#f # comment", "echo 'a # b' \"c # d\" e#f"),
        ("# only a comment", ""),
        ("echo ${#x} # len", "echo ${#x}"),
    ],
)
def test_strip_comments_removes_only_unquoted_comments_at_a_word_start(
    source: str, expected: str
) -> None:
    """A ``#`` inside quotes or inside a word is kept; a comment to the line's end goes."""
    assert expected == strip_comments(source)


def test_shell_words_remove_quotes_and_split_at_operators() -> None:
    """Quotes go, escapes apply, continuations join, operators split commands."""
    source = 'a \'b c\' "d \\"e\\"" f\\ g \\\n  h | i && j; X=$(k l) 2>&1'

    assert ["a", "b c", 'd "e"', "f g", "h", "i", "j", "X=$", "k", "l", "2", "1"] == (
        shell_words(source)
    )
    assert [["a", "b c", 'd "e"', "f g", "h"], ["i"], ["j"], ["X=$"], ["k", "l"], ["2", "1"]] == (
        simple_commands(source)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('pip install -e ".[test]" && python -m pytest', "python -m pytest"),
        ("pip install . && northflank-async demo", "northflank-async demo"),
        ("python -m pip install x && pip3 install y && northflank-async", "northflank-async"),
        ("pip install .", "pip install ."),
        ("pip install . || northflank-async demo", "pip install . || northflank-async demo"),
        ("northflank-async demo && pip install x", "northflank-async demo && pip install x"),
        ("echo 'pip install x && y'", "echo 'pip install x && y'"),
    ],
)
def test_a_leading_pip_install_and_is_dropped(source: str, expected: str) -> None:
    """Only a leading install joined by ``&&`` is dropped, however many there are."""
    assert expected == drop_install_prefix(source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("northflank-async list projects", True),
        ("NF=1 .venv/bin/northflank-async demo | tail -n 3", True),
        ("X=$(northflank-async get addon backups -o json) && echo ok", True),
        ("echo northflank-async-ish; python -m northflank_async demo", False),
        ("pip install northflank-async", False),
        ("uv pip install northflank-async", False),
        ("curl -H 'Authorization: Bearer x' http://127.0.0.1:8080/v1/projects", False),
    ],
)
def test_a_command_runs_the_cli_when_it_is_a_word_outside_an_install(
    source: str, expected: bool
) -> None:
    """``northflank-async`` (or a path to it) as a word runs it; naming the package to
    install does not."""
    assert expected == runs_cli(source)


# -- console blocks -------------------------------------------------------------------------------


def test_prompted_commands_take_their_output_and_the_echoed_exit_code() -> None:
    """``$ `` lines are commands (with ``\\`` continuations); ``$ echo $?`` sets the code
    expected of the command before it and is not a command itself."""
    commands = parse_console(
        console(
            """\
            $ northflank-async check backups \\
                --max-age 26h
            STATUS ...
            $ echo $?
            3
            $ northflank-async list projects  # the same team
            project-1
            """
        )
    )

    assert [
        (11, "northflank-async check backups \\\n    --max-age 26h", 3, ("STATUS ...",)),
        (16, "northflank-async list projects  # the same team", 0, ("project-1",)),
    ] == [(c.line, c.text, c.expected_code, c.output) for c in commands]
    assert "northflank-async list projects" == commands[1].script
    assert [True, True] == [c.runs_cli for c in commands]


def test_a_block_without_prompts_lists_one_command_a_line() -> None:
    """Without any ``$ `` line, each non-empty line is a command, comments stripped and
    a leading ``pip install ... &&`` dropped; comment-only lines are skipped."""
    commands = parse_console(
        console(
            """\
            # install first
            pip install . && northflank-async demo   # no account needed

            pip install ".[speedups]"     # + orjson
            """
        )
    )

    assert [(12, "northflank-async demo", True), (14, 'pip install ".[speedups]"', False)] == [
        (c.line, c.script, c.runs_cli) for c in commands
    ]


def test_an_echoed_exit_code_with_no_command_before_it_is_an_error() -> None:
    """``$ echo $?`` first, or twice in a row, cannot say which command it checks."""
    first = console("$ echo $?\n0\n")
    twice = console("$ northflank-async demo\n$ echo $?\n0\n$ echo $?\n0\n")

    for block, line in ((first, 11), (twice, 14)):
        with pytest.raises(ConsoleError, match=rf"^page\.md:{line}: `\$ echo \$\?` must come"):
            parse_console(block)


def test_an_echoed_exit_code_must_show_a_number() -> None:
    """The line after ``$ echo $?`` is the expected code: a number."""
    with pytest.raises(ConsoleError, match=r"^page\.md:12: .* must show the exit code"):
        parse_console(console("$ northflank-async demo\n$ echo $?\nthree\n"))


# -- the page rules -------------------------------------------------------------------------------


def test_language_rules_name_the_file_and_line() -> None:
    """No language, a shell language or a Python alias is a violation naming path:line."""
    document = parse_markdown(
        "```\nx\n```\n```bash\nls\n```\n```py\nx\n```\n```console\n```\n", "p.md"
    )

    found = language_violations([document])

    assert ["p.md:1", "p.md:4", "p.md:7"] == [v.split(": ")[0] for v in found]
    assert "`bash` fence: write commands in a `console` fence" in found[1]
    assert "`py` fence: write `python`" in found[2]


def test_unclosed_fences_are_violations() -> None:
    """A fence left open is reported at its line."""
    document = parse_markdown("text\n```python\nx = 1\n", "p.md")

    assert ["p.md:2: this fence is never closed"] == unclosed_violations([document])


def test_include_rules_check_the_path_and_refuse_mixing() -> None:
    """An include names an existing file (a `:range` suffix allowed) and stands alone."""
    document = parse_markdown(
        '```python\n--8<-- "there.py:3:5"\n```\n'
        '```python\n--8<-- "missing.py"\n```\n'
        '```python\n--8<-- "there.py"\nx = 1\n```\n',
        "p.md",
    )

    found = include_violations([document], lambda path: path == "there.py")

    assert [
        "p.md:4: includes 'missing.py', which does not exist",
        'p.md:7: a `--8<-- "path"` line among code: an include goes alone in its block',
    ] == found


def test_marker_rules_refuse_unknown_stray_and_misplaced_markers() -> None:
    """Unknown markers, markers above no fence, and realistic above Python are reported."""
    document = parse_markdown(
        "<!-- docs: skip -->\n```python\nx\n```\n"
        "<!-- docs: no-run -->\n\n```python\nx\n```\n"
        "<!-- docs: realistic -->\n```python\nx\n```\n"
        "<!-- docs: realistic -->\n```console\n$ northflank-async check backups\n```\n",
        "p.md",
    )

    found = marker_violations([document])

    assert ["p.md:5", "p.md:1", "p.md:10"] == [v.split(": ")[0] for v in found]
    assert "not directly above a fence" in found[0]
    assert "unknown marker `<!-- docs: skip -->`" in found[1]
    assert "`realistic` only applies to a console block" in found[2]


def test_console_rules_report_unreadable_blocks() -> None:
    """A console block with a misplaced ``$ echo $?`` is a violation; a good one is not."""
    document = parse_markdown(
        "```console\n$ echo $?\n0\n```\n```console\n$ northflank-async demo\n```\n", "p.md"
    )

    assert [
        "p.md:2: `$ echo $?` must come right after the command it checks"
    ] == console_violations([document])


def test_no_run_blocks_are_listed_and_fail_past_a_tenth() -> None:
    """One no-run block of ten passes (and is listed with its reason); two of ten fail."""

    def python_page(no_run: int) -> str:
        marked = "<!-- docs: no-run: a real machine -->\n```python\nx\n```\n" * no_run
        return marked + "```python\nx\n```\n" * (10 - no_run)

    one = parse_markdown(python_page(1), "p.md")
    two = parse_markdown(python_page(2), "p.md")

    assert (["p.md:2 (a real machine)"], []) == no_run_violations([one])
    listed, violations = no_run_violations([two])
    assert ["p.md:2 (a real machine)", "p.md:6 (a real machine)"] == listed
    assert ["2 of 10 Python blocks are no-run, more than 10%"] == [
        v.split(":")[0] for v in violations
    ]
