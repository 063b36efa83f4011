"""The pipeline's configuration: typed sections, YAML loading, `--set` overrides, strict validation.

Every stage reads its settings from one `Config` object. Unknown keys and wrong types are errors that
name the key, so a misspelt option never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from manifests.errors import UserError
from manifests.storage import as_path

DEFAULT_SENSITIVE_CATEGORIES = ("gambling", "porn", "drugs", "weapons", "fake_documents", "fraud", "insults")
DEFAULT_USER_AGENT = "wukong-pipeline/0.1 (+https://github.com/wukong-pipeline; dataset research crawler)"


@dataclass(slots=True)
class CrawlConfig:
    download_delay: float = 1.0
    autothrottle: bool = True
    concurrent_requests_per_host: int = 2
    concurrent_requests: int = 16
    obey_robots: bool = True
    user_agent: str = DEFAULT_USER_AGENT
    max_per_query: int = 1000
    page_size: int = 30
    endpoint: str = "https://image.baidu.com/search/acjson"
    api_format: str = "baidu"
    rows_per_part: int = 10000
    max_pages: int = 0
    partitions: int = 1
    timeout: float = 30.0
    retry_times: int = 2
    max_blocked_retries: int = 2
    retry_backoff: float = 1.0
    warc_base_url: str = "https://data.commoncrawl.org/"
    cc_languages: list[str] = field(default_factory=lambda: ["zho"])


@dataclass(slots=True)
class DownloadConfig:
    concurrency: int = 64
    per_host: int = 8
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    retries: int = 2
    backoff: float = 0.5
    max_retry_after: float = 30.0
    max_bytes: int = 20_000_000
    max_redirects: int = 5
    allow_private_networks: bool = False
    user_agent: str = DEFAULT_USER_AGENT
    respect_opt_out: bool = True


@dataclass(slots=True)
class TextConfig:
    min_words: int = 1
    max_words: int = 32
    min_language_score: float = 0.5
    sensitive_words: list[str] = field(default_factory=list)
    use_default_lexicon: bool = True
    # The packaged lexicon's categories (filters/data/sensitive/<name>.txt); `political` is off by default.
    sensitive_categories: list[str] = field(default_factory=lambda: list(DEFAULT_SENSITIVE_CATEGORIES))
    # The learned second stage (filters/data/sensitive_model.ftz) on rows the lexicon kept: rejected when the
    # model's most probable enabled category reaches the threshold.
    sensitive_model: bool = True
    sensitive_model_threshold: float = 0.9
    max_caption_repeats: int = 10
    max_chars: int = 512


@dataclass(slots=True)
class ImageConfig:
    min_side: int = 200
    max_aspect_ratio: float = 3.0
    max_pixels: int = 89_478_485


@dataclass(slots=True)
class DedupConfig:
    phash_max_distance: int = 4
    near_duplicates: bool = True
    # folders, globs or parquet files (`image` or `phash` column) of reference images, e.g. evaluation
    # sets: candidates within phash_max_distance of one are rejected as `contaminated`
    exclude: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PrivacyConfig:
    mask_person_names: bool = True
    name_token: str = "<人名>"
    mask_contacts: bool = True
    opt_out_lists: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RayConfig:
    address: str | None = None
    num_cpus: int | None = None
    rows_per_task: int = 2000
    download_actors: int | None = None
    local_max_rows: int = 20000


@dataclass(slots=True)
class ShardConfig:
    samples_per_shard: int = 10000
    manifest_rows_per_file: int = 1_000_000
    csv: bool = False
    removal_contact: str | None = None  # where the dataset card tells people to ask for a removal
    inline_max_mb: int = 256  # kept parts up to this size (local disk, no Ray): no worker processes


@dataclass(slots=True)
class StorageConfig:
    """Options for fsspec URLs (`s3://bucket/prefix`); None falls back to the environment
    (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, ~/.aws)."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    anonymous: bool = False


@dataclass(slots=True)
class Config:
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    download: DownloadConfig = field(default_factory=DownloadConfig)
    text: TextConfig = field(default_factory=TextConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    shard: ShardConfig = field(default_factory=ShardConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Checks `value` against a type hint; ints are accepted where floats are expected."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise UserError(f"config key {where} must be a list, got {type(value).__name__}")
        return [_coerce(v, item_hint, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    raise UserError(f"config key {where} must be {getattr(hint, '__name__', hint)}, got {value!r}")


def _section_hints(section_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(section_cls)


def _apply(cfg: Config, section: str, key: str, value: Any) -> None:
    if section not in _section_hints(Config):
        raise UserError(f"unknown config section: {section}")
    target = getattr(cfg, section)
    hints = _section_hints(type(target))
    if key not in hints:
        raise UserError(f"unknown config key: {section}.{key}")
    setattr(target, key, _coerce(value, hints[key], f"{section}.{key}"))


def config_from_dict(data: dict[str, Any] | None) -> Config:
    cfg = Config()
    if data is None:
        return cfg
    if not isinstance(data, dict):
        raise UserError("config must be a mapping of sections")
    for section, values in data.items():
        if section not in _section_hints(Config):
            raise UserError(f"unknown config section: {section}")
        if values is None:
            continue
        if not isinstance(values, dict):
            raise UserError(f"config section {section} must be a mapping")
        for key, value in values.items():
            _apply(cfg, section, key, value)
    return cfg


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parses `section.key=value` (the value is YAML: 40, true, [a, b], null)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise UserError(f"--set expects section.key=value, got {text!r}")
    dotted, raw = text.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise UserError(f"--set {dotted}: value is not valid YAML ({exc.__class__.__name__})") from None
    return section, key, value


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Loads a YAML config (all keys optional), then applies `section.key=value` overrides."""
    data: dict[str, Any] | None = None
    if path is not None:
        p = as_path(str(path))  # a config on object storage is reached with the environment's endpoint
        if not p.is_file():
            raise UserError(f"config file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise UserError(f"config file {p} is not valid YAML{where}") from None
    cfg = config_from_dict(data)
    for text in overrides or []:
        section, key, value = parse_override(text)
        _apply(cfg, section, key, value)
    return cfg


SECRET_KEYS = (("storage", "secret_access_key"),)


def config_to_yaml(cfg: Config, redact: bool = True) -> str:
    """The config as YAML; secrets (storage.secret_access_key) show as "***" unless `redact` is False."""
    data = cfg.to_dict()
    if redact:
        for section, key in SECRET_KEYS:
            if data[section][key] is not None:
                data[section][key] = "***"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
