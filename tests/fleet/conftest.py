"""The object stores of tests/objectstore (moto's S3), for the fleets that share a bucket."""

from tests.objectstore.conftest import moto_endpoint, s3

__all__ = ["moto_endpoint", "s3"]
