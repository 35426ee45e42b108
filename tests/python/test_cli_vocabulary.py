"""One vocabulary for flags across every command (CONTRIBUTING.md, "Command-line vocabulary"):
the C++ commands (read from their --help) and the Python `model` commands (their argparse
parser) spell a command's main output `--out`, extra outputs `--<what>-out` or a named folder,
never `-o`, `--output` or `--out-dir`, and a flag means one kind of value everywhere."""
import argparse
import re

import pytest

from chickenseg_model.cli import build_parser

# Every C++ command the tool lists, with its main output flag (None: it writes no file of its
# own; --json prints to stdout). A command missing here fails the test, so a new command is
# classified when it is added.
MAIN_OUTPUT = {
    "doctor": None, "eval": "--out", "baseline": "--out", "compare": None, "report": "--out",
    "predict": "--out", "bench": None, "mine": "--out", "train": None, "model": None,
    "data sample": "--out", "data convert": "--out", "data split": "--out", "data validate": None,
    "data holdout": "--out", "data stats": None, "data merge": "--out", "data version": None,
    "stream": "--out", "annotate": None,
}
FORBIDDEN = {"-o", "--output", "--out-dir", "--output-dir", "--outdir", "--out-file", "--output-file", "--dest"}
# Commands whose options the C++ tool passes on to Python (their help comes from argparse).
PASS_THROUGH = {"train", "model"}

TYPE_WORDS = {"TEXT": "text", "UINT": "int", "INT": "int", "FLOAT": "float", "BOOLEAN": "flag"}
OPTION_LINE = re.compile(r"^ {2,4}((?:-\w,)?--[\w-]+(?:,--[\w-]+)*)(?: +([A-Z]+)\b)?")


def list_commands(cs, *group):
    """The subcommands a --help lists (the lines after 'Subcommands:')."""
    out = cs(*group, "--help", check=True).stdout
    names, seen = [], False
    for line in out.splitlines():
        if line.startswith("Subcommands:"):
            seen = True
        elif seen and re.match(r"^  [a-z]", line):
            names.append(line.split()[0])
    assert names, f"no subcommands in: chickenseg {' '.join(group)} --help"
    return names


def cpp_options(cs, command):
    """{option name: kind} from `chickenseg COMMAND --help` (kind: int, float, text or flag)."""
    out = cs(*command.split(), "--help", check=True).stdout
    options = {}
    for line in out.splitlines():
        m = OPTION_LINE.match(line)
        if not m:
            continue
        kind = TYPE_WORDS.get(m.group(2) or "", "flag")
        for name in m.group(1).split(","):
            if name not in ("-h", "--help"):
                options[name] = kind
    return options


def python_options():
    """{'model SUB': {option: kind}} from the argparse parser behind `chickenseg model` and `train`."""
    parser = build_parser()
    result = {}
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for name, sub in action.choices.items():
            opts = {}
            for a in sub._actions:
                if isinstance(a, argparse._HelpAction) or not a.option_strings:
                    continue
                if a.nargs == 0:
                    kind = "flag"
                else:
                    kind = {int: "int", float: "float"}.get(a.type, "text")
                for s in a.option_strings:
                    opts[s] = kind
            result[f"model {name}"] = opts
    assert result, "the model parser has no subcommands"
    return result


@pytest.fixture(scope="module")
def vocabulary(cs):
    commands = {}
    for name in list_commands(cs):
        if name == "data":
            for sub in list_commands(cs, "data"):
                commands[f"data {sub}"] = cpp_options(cs, f"data {sub}")
        elif name not in PASS_THROUGH:
            commands[name] = cpp_options(cs, name)
        else:
            commands[name] = {}
    commands.update(python_options())
    return commands


def test_every_command_is_classified(vocabulary):
    cpp = {c for c in vocabulary if not c.startswith("model ")}
    assert {"predict", "eval", "data convert", "data split"} <= cpp  # the help was read
    unknown = cpp - MAIN_OUTPUT.keys()
    assert not unknown, f"classify the main output of {sorted(unknown)} in MAIN_OUTPUT"


def test_main_output_is_out(vocabulary):
    for command, options in vocabulary.items():
        expected = MAIN_OUTPUT.get(command)
        if expected:
            assert expected in options, f"{command}: its main output should be {expected}; has {sorted(options)}"
            assert options[expected] == "text", f"{command} {expected} takes a path"


def test_no_other_spelling_of_an_output(vocabulary):
    checked = 0
    for command, options in vocabulary.items():
        for name in options:
            checked += 1
            assert name not in FORBIDDEN, f"{command}: {name} is spelled --out (main output) in this project"
            if "out" in name.lstrip("-").split("-") or name.startswith("--out"):
                assert name == "--out" or name.endswith("-out"), \
                    f"{command}: {name}: outputs are --out or --<what>-out"
    assert checked > 100


def test_one_flag_one_kind(vocabulary):
    kinds = {}
    for command, options in vocabulary.items():
        for name, kind in options.items():
            kinds.setdefault(name, {}).setdefault(kind, []).append(command)
    mixed = {name: by_kind for name, by_kind in kinds.items() if len(by_kind) > 1}
    assert not mixed, f"flags with different kinds of value across commands: {mixed}"
    # Shared flags really are shared (the test compares something).
    shared = [name for name, by_kind in kinds.items() if sum(map(len, by_kind.values())) > 1]
    assert {"--out", "--dataset", "--image-root", "--batch-size", "--device"} <= set(shared)
