"""A real S3-compatible server (moto's server mode) on 127.0.0.1 for the object-storage tests.

The server runs in this process on a free loopback port; tests reach it only through the endpoint
in `storage.*` config keys, so nothing ever talks to a real cloud.
"""

from __future__ import annotations

import logging
import threading
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
    """moto's S3 application on a threaded werkzeug server, as moto's `ThreadedMotoServer` runs it but
    without its dispatcher: that one finds the service of every request anew (a listing of moto's
    ~150 service folders and a few hundred URL patterns per request), and S3 is the only one used here."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, create_backend_app("s3"), threaded=True,
                         request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-s3", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        yield LocalS3(f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
