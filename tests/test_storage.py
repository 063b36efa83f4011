"""Object storage primitives against moto's S3 server on 127.0.0.1: paths, atomic writes, exclusive
claims, listings and one-line errors, as every stage uses them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from manifests.config import load_config
from manifests.errors import UserError
from manifests.parquet_io import list_parts, read_table, require_input_folder, write_parquet_atomic
from manifests.storage import atomic_output, data_path, is_remote, remove_tree, upload


def _cfg(s3_server):
    return load_config(None, s3_server.config_overrides())


def test_local_paths_stay_pathlib(tmp_path: Path) -> None:
    p = data_path(str(tmp_path / "x"))
    assert isinstance(p, Path) and not is_remote(p)
    assert data_path(f"file://{tmp_path}/y") == tmp_path / "y"


def test_image_bytes_are_stored_plain_and_other_columns_compressed(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    table = pa.table({"key": ["1", "2", "3"] * 100, "image": [b"\xff\xd8" + bytes(2000)] * 300})
    write_parquet_atomic(table, tmp_path / "part-00000.parquet")
    meta = pq.read_metadata(tmp_path / "part-00000.parquet").row_group(0)
    key, image = meta.column(0), meta.column(1)
    assert (image.compression, image.is_stats_set) == ("UNCOMPRESSED", False)
    assert not any("DICTIONARY" in e for e in image.encodings)
    assert (key.compression, key.is_stats_set) == ("ZSTD", True)
    assert any("DICTIONARY" in e for e in key.encodings)
    assert read_table(tmp_path / "part-00000.parquet").equals(table)


def test_parquet_round_trip_and_listing_on_s3(s3_server) -> None:
    bucket = s3_server.new_bucket()
    root = data_path(f"s3://{bucket}/data/kept", _cfg(s3_server).storage)
    assert is_remote(root)
    table = pa.table({"key": ["1", "2", "3"], "image": [b"a", b"bb", b"ccc"]})
    write_parquet_atomic(table, root / "part-00001.parquet")
    write_parquet_atomic(table.slice(0, 1), root / "part-00000.parquet")
    parts = list_parts(root)
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    assert read_table(parts[1]).equals(table)
    assert read_table(parts[1], columns=["key"], filters=[("key", "=", "2")]).column("key").to_pylist() == ["2"]
    assert require_input_folder(root) == root


def test_reading_a_parquet_object_costs_one_head_and_one_get(s3_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stage reads its inputs this way, once per task and file: the object's size (HEAD), then the
    whole small object (GET), or a large one by ranges. s3fs alone would ask for the size a second time."""
    import s3fs

    bucket = s3_server.new_bucket()
    root = data_path(f"s3://{bucket}/work", _cfg(s3_server).storage)
    table = pa.table({"key": [str(i) for i in range(1000)], "image": [bytes(100)] * 1000})
    write_parquet_atomic(table, root / "task-00000.parquet")
    write_parquet_atomic(table.slice(0, 0), root / "task-00001.parquet")
    calls: list[str] = []
    real = s3fs.S3FileSystem._call_s3

    async def counted(self, method, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(method)
        return await real(self, method, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", counted)
    assert read_table(root / "task-00000.parquet").equals(table)
    assert calls == ["head_object", "get_object"]
    calls.clear()
    assert read_table(root / "task-00001.parquet").num_rows == 0
    assert calls == ["head_object", "get_object"]


def test_failed_write_leaves_nothing_on_s3(s3_server) -> None:
    bucket = s3_server.new_bucket()
    dest = data_path(f"s3://{bucket}/out/part-00000.parquet", _cfg(s3_server).storage)
    with pytest.raises(RuntimeError), atomic_output(dest) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("killed mid-write")
    assert not dest.exists()
    assert s3_server.filesystem().ls(bucket) == []
    assert not tmp.exists()  # the local temporary file is gone too


def test_exclusive_upload_never_replaces(s3_server, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    dest = data_path(f"s3://{bucket}/c/part-site-00000.parquet", _cfg(s3_server).storage)
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    assert upload(first, dest, exclusive=True) is True
    assert upload(second, dest, exclusive=True) is False
    assert dest.read_bytes() == b"first"


def test_missing_prefix_is_a_one_line_error(s3_server) -> None:
    bucket = s3_server.new_bucket()
    with pytest.raises(UserError, match=f"input folder not found: s3://{bucket}/nothing"):
        require_input_folder(data_path(f"s3://{bucket}/nothing", _cfg(s3_server).storage))


def test_remove_tree_on_s3(s3_server) -> None:
    bucket = s3_server.new_bucket()
    root = data_path(f"s3://{bucket}/work", _cfg(s3_server).storage)
    for i in range(3):
        (root / "sub" / f"{i}.bin").write_bytes(b"x")
    remove_tree(root)
    remove_tree(root)  # already gone: fine
    assert s3_server.filesystem().ls(bucket) == []


def test_config_file_on_s3_with_the_endpoint_from_the_environment(s3_server, monkeypatch: pytest.MonkeyPatch) -> None:
    from s3local import ACCESS_KEY, SECRET_KEY

    bucket = s3_server.new_bucket()
    s3_server.filesystem().pipe(f"{bucket}/configs/run.yaml", b"text:\n  max_words: 20\n")
    for name, value in (("AWS_ENDPOINT_URL", s3_server.endpoint), ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    assert load_config(f"s3://{bucket}/configs/run.yaml").text.max_words == 20
    with pytest.raises(UserError, match=f"config file not found: s3://{bucket}/configs/nope.yaml"):
        load_config(f"s3://{bucket}/configs/nope.yaml")


@pytest.mark.parametrize("command", [["filter", "--in", "s3://b/candidates", "--out", "s3://b/filtered"],
                                     ["shard", "--in", "s3://b/filtered", "--out", "s3://b/release"],
                                     ["report", "--data-dir", "s3://b/data"]])
def test_unreachable_object_storage_is_a_one_line_error(command: list[str], monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens on 127.0.0.1:9: the client's own error becomes one line, exit status 2."""
    from wukong.cli import main

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    settings = ["storage.endpoint_url=http://127.0.0.1:9", "storage.access_key_id=x", "storage.secret_access_key=y"]
    assert main(["--quiet", *command, *(a for s in settings for a in ("--set", s))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "127.0.0.1:9" in err, err
    assert err.startswith("wukong: error: ")
