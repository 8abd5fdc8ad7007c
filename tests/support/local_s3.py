"""moto's S3 server on a loopback port, with bucket and object work done through the `minio` client.

moto accepts any credentials: fresh random ones per server, so no fixed value looks like a secret.
"""

from __future__ import annotations

import secrets
from typing import Self

from minio import Minio

from apps.testing.redis_server import free_port

REGION = "us-east-1"


class LocalS3:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.access_key = f"test-{secrets.token_hex(6)}"
        self.secret_key = secrets.token_hex(20)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_env(self) -> dict[str, str]:
        """What an S3 client of ours (boto3, MLflow) reads to reach this server."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": REGION, "MLFLOW_S3_ENDPOINT_URL": self.url}

    def client(self) -> Minio:
        # region given: minio would otherwise ask the server for each bucket's location first
        return Minio(f"127.0.0.1:{self.port}", access_key=self.access_key, secret_key=self.secret_key,
                     secure=False, region=REGION)

    def create_bucket(self, name: str) -> None:
        client = self.client()
        if not client.bucket_exists(name):
            client.make_bucket(name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in the bucket under `prefix`, recursively, sorted."""
        return sorted(item.object_name for item in self.client().list_objects(bucket, prefix=prefix, recursive=True))

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
