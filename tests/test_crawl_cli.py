"""`wukong crawl` and `wukong queries` on the command line: one-line errors with exit 2, the query list."""

from __future__ import annotations

from pathlib import Path

import pytest

from wukong.cli import main
from wukong.commands.queries import FUNCTION_TAG_PREFIXES, HAN_WORD, STOPWORDS, parse_dict, top_queries


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wukong: error: ") and "\n" not in err, err
    return err


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Belt and braces: a crawl started by mistake still cannot leave 127.0.0.1."""
    monkeypatch.setenv("WUKONG_LOOPBACK_ONLY", "1")


@pytest.fixture
def queries(tmp_path: Path) -> Path:
    path = tmp_path / "q.txt"
    path.write_text("猫\n\n狗\n猫\n", encoding="utf-8")
    return path


def test_missing_queries_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = one_line_error(capsys, ["crawl", "--spider", "search", "--queries", str(tmp_path / "nope.txt"),
                                  "--endpoint", "http://127.0.0.1:9/acjson", "--out", str(tmp_path / "out")])
    assert "queries file not found" in err


def test_empty_queries_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    err = one_line_error(capsys, ["crawl", "--spider", "search", "--queries", str(empty),
                                  "--endpoint", "http://127.0.0.1:9/acjson", "--out", str(tmp_path / "out")])
    assert "has no queries" in err
    empty.write_bytes("猫狗".encode("gbk"))  # b"\xc3\xa8\xb9\xb7": not UTF-8
    assert "not UTF-8" in one_line_error(capsys, ["crawl", "--spider", "search", "--queries", str(empty),
                                                  "--endpoint", "http://127.0.0.1:9/acjson",
                                                  "--out", str(tmp_path / "out")])


def test_unknown_config_key(capsys: pytest.CaptureFixture[str], tmp_path: Path, queries: Path) -> None:
    err = one_line_error(capsys, ["crawl", "--spider", "search", "--queries", str(queries), "--endpoint",
                                  "http://127.0.0.1:9/acjson", "--set", "crawl.no_such_key=1", "--out",
                                  str(tmp_path / "out")])
    assert "crawl.no_such_key" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("crawl:\n  obey_robot: false\n", encoding="utf-8")
    assert "crawl.obey_robot" in one_line_error(
        capsys, ["crawl", "--spider", "search", "--queries", str(queries), "--endpoint", "http://127.0.0.1:9/a",
                 "--config", str(bad), "--out", str(tmp_path / "out")])


@pytest.mark.parametrize(("extra", "needle"), [
    (["--endpoint", "ftp://127.0.0.1/x"], "http(s) URL"),
    (["--max-per-query", "0"], "crawl.max_per_query"),
    (["--partitions", "0"], "crawl.partitions"),
    (["--set", "crawl.api_format=google"], "crawl.api_format"),
    (["--start-url", "http://127.0.0.1:9/"], "--start-url cannot be used with --spider search"),
])
def test_bad_search_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path, queries: Path, extra: list[str],
                          needle: str) -> None:
    err = one_line_error(capsys, ["crawl", "--spider", "search", "--queries", str(queries), "--endpoint",
                                  "http://127.0.0.1:9/acjson", *extra, "--out", str(tmp_path / "out")])
    assert needle in err


def test_bad_site_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path, queries: Path) -> None:
    out = str(tmp_path / "out")
    assert "needs at least one --start-url" in one_line_error(capsys, ["crawl", "--spider", "site", "--out", out])
    assert "http(s) URL" in one_line_error(capsys, ["crawl", "--spider", "site", "--start-url", "127.0.0.1/x",
                                                    "--out", out])
    assert "--queries" in one_line_error(capsys, ["crawl", "--spider", "site", "--start-url", "http://127.0.0.1:9/",
                                                  "--queries", str(queries), "--out", out])
    assert "--spider search needs --queries" in one_line_error(capsys, ["crawl", "--spider", "search", "--out", out])
    file_out = tmp_path / "file"
    file_out.write_text("x")
    assert "not a folder" in one_line_error(capsys, ["crawl", "--spider", "site", "--start-url",
                                                     "http://127.0.0.1:9/", "--out", str(file_out)])


def test_queries_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "queries.txt"
    assert main(["queries", "--top", "300", "--out", str(out)]) == 0
    words = out.read_text(encoding="utf-8").splitlines()
    assert len(words) == 300 == len(set(words))
    assert all(HAN_WORD.match(w) for w in words)
    assert not STOPWORDS & set(words)
    assert {"中国", "公司", "北京"} <= set(words[:100])
    assert not {"我们", "一个", "没有", "可以", "已经", "这个"} & set(words)  # pronouns, numerals, adverbs...
    assert "300 words" in capsys.readouterr().out
    assert "--top must be at least 1" in one_line_error(capsys, ["queries", "--top", "0", "--out", str(out)])


def test_queries_written_to_s3(s3_server, capsys: pytest.CaptureFixture[str]) -> None:
    bucket = s3_server.new_bucket()
    args = ["queries", "--top", "50", "--out", f"s3://{bucket}/queries.txt"]
    for s in s3_server.config_overrides():
        args += ["--set", s]
    assert main(args) == 0
    words = s3_server.filesystem().cat(f"{bucket}/queries.txt").decode("utf-8").splitlines()
    assert len(words) == 50 == len(set(words)) and all(HAN_WORD.match(w) for w in words)
    assert f"-> s3://{bucket}/queries.txt" in capsys.readouterr().out


def test_queries_ranking_and_tags(tmp_path: Path) -> None:
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("猫咪 50 n\n我们 900 r\n的 999 uj\n跑步 70 v\n北京 80 ns\nAI 90 n\n熊猫 60 n\n猫咪 55 n\n"
                          "一个 500 m\n马 99 n\n问题 300 n\nbroken line\n长城 60 ns\n", encoding="utf-8")
    assert top_queries(10, dictionary) == ["北京", "熊猫", "长城", "猫咪"]
    assert list(parse_dict(["a 1 n", "b x n", "c 2"])) == [("a", 1, "n")]
    assert "u" in FUNCTION_TAG_PREFIXES and "d" in FUNCTION_TAG_PREFIXES
