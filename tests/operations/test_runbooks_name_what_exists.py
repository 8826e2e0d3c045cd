"""The runbooks name only what exists (docs/operations.md,
docs/encrypted-data.md).

The class of defect: a runbook step that does not work, here because it
names a command, an option, a setting or a test that is not there. Every
`manage.py <command> --option` the runbooks show must be a command that
takes that option, every setting or environment variable they name must be
read by the project, and every test module the runbook table names must
exist, so a rename fails here rather than during an incident.
"""

import argparse
import re
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from tests.test_readme_reads_true import project_text

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[2]
DOCS = ("docs/operations.md", "docs/encrypted-data.md")
TEXT = "\n".join((REPO / doc).read_text(encoding="utf-8") for doc in DOCS)


def shown_commands(text: str) -> list[str]:
    """Each `manage.py ...` invocation: in inline code (which may wrap
    across lines) and on the lines of fenced code blocks."""
    fenced = re.findall(r"```[^\n]*\n(.*?)```", text, re.DOTALL)
    inline = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    spans = [" ".join(span.split()) for span in inline]
    spans += [line for block in fenced for line in block.splitlines()]
    return [
        invocation.strip()
        for span in spans
        for invocation in re.findall(r"manage\.py ([a-z_]+(?: [^`|;]*)?)", span)
    ]


def options_of(command: str) -> set[str]:
    """Every option string the command's parser (and its subcommands) takes."""
    parser = load_command_class(get_commands()[command], command).create_parser(
        "manage.py", command
    )
    options: set[str] = set()
    parsers = [parser]
    while parsers:
        current = parsers.pop()
        for action in current._actions:
            options.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return options


INVOCATIONS = shown_commands(TEXT)


def test_the_runbooks_show_commands():
    assert len(INVOCATIONS) > 20, "few commands found: the pattern is broken"


@pytest.mark.parametrize("invocation", sorted(set(INVOCATIONS)))
def test_each_command_shown_exists_with_its_options(invocation):
    command, *rest = invocation.split()
    assert command in get_commands(), f"no command {command}"
    named = {
        token.split("=")[0].strip("[]().,")
        for token in rest
        if token.lstrip("[(").startswith("--")
    }
    assert sorted(named - options_of(command)) == []


def test_every_setting_and_variable_named_is_read_by_the_project():
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})[`(=]", TEXT))
    source = project_text()

    assert len(named) > 10, "few names found: the pattern is broken"
    assert sorted(name for name in named if name not in source) == []


def test_every_test_and_tool_named_exists():
    tests = set(re.findall(r"`(test_[a-z_]+\.py)`", TEXT))
    tools = set(re.findall(r"`?(tools/[a-z_]+\.py)", TEXT))

    assert len(tests) >= 8
    missing = [t for t in tests if not (REPO / "tests" / "operations" / t).exists()]
    missing += [t for t in tools if not (REPO / t).exists()]
    assert missing == []
