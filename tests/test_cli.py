"""The `wukong` command's manners: help texts with defaults and exit codes, `--version`, `--set`
overrides, one-line errors with exit 2 (no traceback), and log files under DIR/logs/."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wukong import __version__
from wukong.cli import COMMANDS, EPILOG, HelpFormatter, build_parser, main
from wukong.logs import close_file_logging, setup_file_logging

pytestmark = pytest.mark.usefixtures("restore_root_logger")  # `main` configures logging


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_every_built_subcommand_is_registered() -> None:
    built = {name for name, module in COMMANDS.items() if importlib.util.find_spec(f"wukong.commands.{module}")}
    assert set(subcommands()) == built
    assert {"report", "config"} <= built


def test_top_level_help_lists_subcommands_options_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in subcommands():
        assert name in out
    for option in ("--version", "--quiet", "--verbose"):
        assert option in out
    assert EPILOG in out and "0 success" in out and "2 bad input" in out


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_subcommand_help_explains_every_option_with_its_default(name: str) -> None:
    parser = subcommands()[name]
    text = parser.format_help()
    assert "Exit codes: 0 success, 1 stage failed, 2 bad input" in text
    formatter = HelpFormatter(parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:  # a positional: named in the usage and described
            assert action.help, f"{name}: positional {action.dest} has no help"
            continue
        for option in action.option_strings:
            assert option in text, f"{name} --help does not mention {option}"
        assert action.help, f"{name}: {action.option_strings[0]} has no help"
        rendered = (formatter._get_help_string(action) or "") % {**vars(action), "prog": parser.prog}
        assert "default" in rendered.lower() or "required" in rendered.lower(), (name, rendered)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"wukong {__version__}"


def test_config_show_with_set_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--show", "--set", "text.max_words=40", "--set", "crawl.obey_robots=false",
                 "--set", "image.max_aspect_ratio=2.5"]) == 0
    effective = yaml.safe_load(capsys.readouterr().out)
    assert effective["text"]["max_words"] == 40
    assert effective["crawl"]["obey_robots"] is False
    assert effective["image"]["max_aspect_ratio"] == 2.5
    assert effective["text"]["min_words"] == 1  # the rest stays at its default


def test_config_show_reads_a_file_then_applies_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("text:\n  max_words: 20\n  min_words: 2\n", encoding="utf-8")
    assert main(["config", "--show", "--config", str(cfg), "--set", "text.max_words=40"]) == 0
    effective = yaml.safe_load(capsys.readouterr().out)
    assert (effective["text"]["min_words"], effective["text"]["max_words"]) == (2, 40)


def test_config_show_hides_the_storage_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--show", "--set", "storage.access_key_id=AKIDEXAMPLE",
                 "--set", "storage.secret_access_key=wJalrXUtnFEMIexample"]) == 0
    out = capsys.readouterr().out
    assert "wJalrXUtnFEMIexample" not in out
    effective = yaml.safe_load(out)
    assert effective["storage"]["secret_access_key"] == "***"
    assert effective["storage"]["access_key_id"] == "AKIDEXAMPLE"
    assert effective["storage"]["endpoint_url"] is None


@pytest.mark.parametrize(("argv", "message"), [
    (["config", "--set", "text.nope=1"], "wukong: error: unknown config key: text.nope"),
    (["config", "--set", "nosection.key=1"], "wukong: error: unknown config section: nosection"),
    (["config", "--set", "max_words"], "wukong: error: --set expects section.key=value, got 'max_words'"),
    (["config", "--set", "text.max_words=many"], "wukong: error: config key text.max_words must be int"),
    (["config", "--config", "/nonexistent/wukong.yaml"], "wukong: error: config file not found"),
])
def test_bad_config_is_one_line_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert one_error_line(captured.err).startswith(message)
    assert captured.out == ""


def test_unknown_key_in_a_config_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("text:\n  max_wrods: 20\n", encoding="utf-8")
    assert main(["config", "--config", str(cfg)]) == 2
    assert one_error_line(capsys.readouterr().err) == "wukong: error: unknown config key: text.max_wrods"


@pytest.mark.parametrize("argv", [[], ["report", "--no-such-option"], ["no-such-command"],
                                  ["report", "--caption-sample", "lots"]])
def test_usage_errors_are_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("wukong") and ": error: " in line and "--help" in line


def test_errors_in_a_real_process_have_no_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "wukong.cli", "config", "--set", "text.nope=1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == "wukong: error: unknown config key: text.nope"


def test_file_logging_goes_to_data_dir_logs(tmp_path: Path) -> None:
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    path = setup_file_logging(tmp_path / "logs", "filter")
    assert path == tmp_path / "logs" / "filter.log"
    assert setup_file_logging(tmp_path / "logs", "filter") == path  # idempotent: one handler per file
    assert sum(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path.resolve()
               for h in root.handlers) == 1
    logging.getLogger("filters.runner").info("task 3 done")
    logging.getLogger("filters.runner").debug("not in the file without --verbose")
    close_file_logging(path)
    text = path.read_text(encoding="utf-8")
    assert "filter started" in text and "INFO filters.runner: task 3 done" in text
    assert "not in the file" not in text
    assert root.level == logging.WARNING  # restored
    logging.getLogger("filters.runner").info("after close")
    assert "after close" not in path.read_text(encoding="utf-8")


def test_file_logging_into_an_unwritable_place_is_a_user_error(tmp_path: Path) -> None:
    from manifests.errors import UserError

    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="cannot write the log file"):
        setup_file_logging(blocker / "logs", "crawl")
