"""Scrapy settings of the crawl stage: static project defaults, plus those derived from `CrawlConfig`.

`scrapy_settings(cfg, out_dir, job_dir, ...)` is what a crawl child process runs with; the module-level
constants are the project defaults (polite: robots.txt obeyed, AutoThrottle, identifying UA).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.settings import Settings

from crawler.offline_psl import use_bundled_suffix_list
from manifests.config import DEFAULT_USER_AGENT, CrawlConfig
from manifests.storage import DataPath

use_bundled_suffix_list()  # every Scrapy process of ours loads this module: no suffix list downloaded

BOT_NAME = "wukong"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

ROBOTSTXT_OBEY = True
USER_AGENT = DEFAULT_USER_AGENT
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_MAX_DELAY = 60.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
COOKIES_ENABLED = True  # the search spider's anti-spider warm-up needs the session cookies
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts, in every crawl process, an HTTP server on localhost that runs the Python code sent
# to it (token in a job file under ~/.local/state/scrapy, left there when the process is killed); it also
# imports aiohttp's web server, about a tenth of a small crawl job's CPU. No stage of ours uses it.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 60.0
FEED_EXPORT_ENCODING = "utf-8"

ITEM_PIPELINES = {"crawler.pipelines.CandidatePartsPipeline": 300}
# One item of a response at a time, in the order the callback yields them: a unit's Checkpoint
# then always reaches the pipeline after the unit's pairs (the journal relies on it). The pipeline
# is synchronous, so item concurrency would buy nothing.
CONCURRENT_ITEMS = 1
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.HostGuardMiddleware": 50,  # before robots.txt: nothing leaves the allowed hosts
    "crawler.middlewares.CharsetMiddleware": 580,  # after decompression (590) on the way back
}
EXTENSIONS = {
    "crawler.middlewares.ProgressExtension": 500,
    "scrapy.extensions.remote_control.RemoteControl": None,  # not even imported (see above)
    "scrapy.extensions.telnet.TelnetConsole": None,
}

PROGRESS_INTERVAL = 1.0
WUKONG_ROWS_PER_PART = 10000


def config_settings(cfg: CrawlConfig) -> dict[str, Any]:
    """The Scrapy settings that `crawl.*` config keys control."""
    return {
        "ROBOTSTXT_OBEY": cfg.obey_robots,
        "USER_AGENT": cfg.user_agent,
        "DOWNLOAD_DELAY": cfg.download_delay,
        "AUTOTHROTTLE_ENABLED": cfg.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(cfg.download_delay, 1.0),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(cfg.concurrent_requests_per_host),
        "CONCURRENT_REQUESTS": cfg.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": cfg.concurrent_requests_per_host,
        "DOWNLOAD_TIMEOUT": cfg.timeout,
        "RETRY_ENABLED": cfg.retry_times > 0,
        "RETRY_TIMES": cfg.retry_times,
        "WUKONG_ROWS_PER_PART": cfg.rows_per_part,
    }


def scrapy_settings(cfg: CrawlConfig, out_dir: DataPath, job_dir: Path, log_level: str = "INFO",
                    state_dir: DataPath | None = None, storage: dict[str, Any] | None = None) -> Settings:
    """Project defaults < config keys < the job's paths; logs go to `job_dir/crawl.log`.

    `out_dir` and `state_dir` (journal and stats; default `job_dir`) may be URLs, reached with the
    `storage` settings (StorageConfig's fields); `job_dir` is a local folder.
    """
    settings = Settings()
    settings.setmodule(__name__, priority="project")
    settings.setdict(config_settings(cfg), priority="cmdline")
    settings.setdict({
        "WUKONG_OUT": str(out_dir),
        "WUKONG_JOBDIR": str(job_dir),
        "WUKONG_STATEDIR": str(job_dir if state_dir is None else state_dir),
        "WUKONG_STORAGE": dict(storage) if storage else None,
        "LOG_FILE": str(job_dir / "crawl.log"),
        "LOG_FILE_APPEND": True,
        "LOG_LEVEL": log_level,
    }, priority="cmdline")
    return settings
