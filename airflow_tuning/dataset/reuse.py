"""Find the dataset already published from the very same sources, and answer with it without reading them.

``publish`` writes a new dataset's manifest with the sources' fingerprint (``source_fingerprint``) in its
custom metadata (``airflow-tuning-sources``). Before reading anything, the operator lists the manifests
under the destination (``prefix/*/manifest.json``: one request, whatever else the prefix holds) and looks
for that fingerprint. On a match, the result is the one that run returned, read from the manifest, with
``changed: False``: no line is validated, no byte is sent, no object is created or touched.

The fingerprint is only a shortcut: a manifest whose content does not match its folder is ignored, a
dataset deleted since is simply published again, and when the destination cannot be listed (no such
bucket, no permission to list) the lookup says so in a warning and the data is read as usual, failing or
succeeding exactly as it would have without the lookup.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow_tuning.dataset.publish import HASH_CHARS, MANIFEST, SOURCES_METADATA_KEY, Destination, dataset_result

log = logging.getLogger(__name__)

_GLOB_CHARS = frozenset("*?[]{}\\")


def find_published(client: Any, destination: str, fingerprint: str, *, retry: Any = None) -> dict[str, Any] | None:
    """The result of the dataset published under ``destination`` from sources with ``fingerprint``, or None.

    Only ever a shortcut: when the destination cannot be listed (no such bucket, no permission, the service
    failing past the retry policy), the answer is None and the data is read as usual, which reports any of
    these as it always did.
    """
    from google.api_core.exceptions import NotFound

    dest = Destination.parse(destination)
    kwargs = {"retry": retry} if retry is not None else {}
    prefix = f"{dest.prefix}/" if dest.prefix else ""
    # Only the manifests, listed by the service (one request); a prefix holding glob characters itself is
    # listed whole and filtered here instead.
    pattern = None if _GLOB_CHARS & set(prefix) else f"{prefix}*/{MANIFEST}"
    try:
        listed = list(client.list_blobs(dest.bucket, prefix=prefix or None, match_glob=pattern, **kwargs))
    except NotFound:  # no bucket, so nothing published: the upload itself says how to create it
        return None
    except Exception as err:  # no permission, credentials refused, the service failing past the retry policy
        log.warning("cannot list gs://%s/%s to find data published from the same sources (%s: %s); reading them",
                    dest.bucket, prefix, type(err).__name__, err)
        return None
    matches = [blob for blob in listed
               if _is_manifest(blob.name, prefix) and (blob.metadata or {}).get(SOURCES_METADATA_KEY) == fingerprint]
    for blob in sorted(matches, key=lambda b: b.updated.timestamp() if b.updated else 0.0, reverse=True):
        result = _result(dest, blob, kwargs)
        if result is not None:
            log.info(
                "dataset %s is already published at %s: nothing uploaded, and nothing read: its sources and "
                "options are those it was published from (fingerprint %s). %d training, %d validation example(s)",
                result["sha256"], result["manifest_uri"].rsplit("/", 1)[0], fingerprint[:16], result["examples"],
                result["validation_examples"],
            )
            return result
    return None


def _is_manifest(name: str, prefix: str) -> bool:
    folder, _, leaf = name[len(prefix):].partition("/")
    return name.startswith(prefix) and leaf == MANIFEST and len(folder) == HASH_CHARS


def _result(dest: Destination, blob: Any, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The publishing run's result, from its manifest; None for a manifest that is not what its name says."""
    folder = blob.name.rsplit("/", 2)[-2]
    try:
        manifest = json.loads(blob.download_as_bytes(**kwargs))
        sha256, files = manifest["sha256"], manifest["files"]
        if not (isinstance(sha256, str) and len(folder) == HASH_CHARS and sha256[:HASH_CHARS] == folder):
            raise ValueError(f"its sha256 {sha256!r} does not name its folder {folder!r}")
        if not files.get("train"):
            raise ValueError("it names no training file")
        return dataset_result(dest, folder, bool(files.get("validation")), manifest, changed=False)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        log.warning("ignoring %s: not a manifest this provider wrote (%s)", dest.uri(blob.name), err)
        return None
    except Exception as err:  # deleted since it was listed, or unreadable: read the sources instead
        log.warning("cannot read %s (%s: %s); reading the sources", dest.uri(blob.name), type(err).__name__, err)
        return None
