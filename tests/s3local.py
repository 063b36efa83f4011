"""A real S3-compatible server (moto's server mode) on 127.0.0.1 for the object-storage tests.

The server runs in this process on a free loopback port; tests reach it only through the endpoint
in `storage.*` config keys, so nothing ever talks to a real cloud.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

ACCESS_KEY = "wukong-test"
SECRET_KEY = "wukong-test-secret"


@dataclass(frozen=True, slots=True)
class LocalS3:
    endpoint: str

    def config_overrides(self) -> list[str]:
        """`--set` arguments that point the pipeline at this server."""
        return [f"storage.endpoint_url={self.endpoint}", f"storage.access_key_id={ACCESS_KEY}",
                f"storage.secret_access_key={SECRET_KEY}", "storage.region=us-east-1"]

    def filesystem(self) -> Any:
        """An s3fs filesystem on this server, for setting up and inspecting buckets."""
        import s3fs

        return s3fs.S3FileSystem(endpoint_url=self.endpoint, key=ACCESS_KEY, secret=SECRET_KEY,
                                 use_listings_cache=False, client_kwargs={"region_name": "us-east-1"})

    def new_bucket(self) -> str:
        name = f"wukong-{uuid.uuid4().hex[:12]}"
        self.filesystem().call_s3("create_bucket", Bucket=name)
        return name


@contextmanager
def local_s3() -> Iterator[LocalS3]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        yield LocalS3(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
