"""A missing Cloud Storage bucket, told as what to do about it.

A resumable upload into a bucket that does not exist answers a bare ``404 POST .../b/NAME/o``; this error
names the bucket and the command that creates it, on Google Cloud and on the offline emulator.
"""

from __future__ import annotations


class BucketNotFoundError(RuntimeError):
    """The bucket ``bucket`` does not exist (nothing was written)."""

    def __init__(self, bucket: str, *, emulated: bool | None = None) -> None:
        self.bucket = bucket
        self.emulated = emulated
        super().__init__(self.advice(emulated))

    def advice(self, emulated: bool | None = None) -> str:
        """The message; ``emulated`` True/False gives only the emulator's / Google Cloud's remedy."""
        head = f"Bucket gs://{self.bucket} does not exist; nothing was written."
        cloud = (f"create it with `gcloud storage buckets create gs://{self.bucket} --location=REGION` "
                 "(the region of your tuning jobs)")
        local = (f"start the emulator with `airflow-tuning emulator --bucket {self.bucket}`, or create it in the "
                 f"running emulator with `airflow-tuning emulator upload FILE... gs://{self.bucket}/PREFIX/`")
        if emulated is True:
            return f"{head} The connection points at the emulator: {local}."
        if emulated is False:
            return f"{head} On Google Cloud, {cloud}."
        return f"{head} On Google Cloud, {cloud}; on the offline emulator, {local}."
