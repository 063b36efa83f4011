"""The crawler child's parent-death handler (crawler/runner.py): however many SIGHUPs reach it, one SIGTERM.

A second SIGTERM makes Scrapy force an unclean shutdown; a CI run showed it after `kill -9` of `wukong crawl`
(test_crawl_e2e_local.py): the handler had run twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import os, signal, time
    from crawler import runner
    got = []
    signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    signal.signal(signal.SIGHUP, runner._parent_died)
    for _ in range(3):  # the handler called again before SIG_IGN took over, then real SIGHUPs
        runner._parent_died(signal.SIGHUP, None)
        os.kill(os.getpid(), signal.SIGHUP)
    deadline = time.monotonic() + 2
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # room for a second SIGTERM to arrive
    print(len(got))
""")


def test_parent_death_gives_scrapy_exactly_one_sigterm() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
