"""Known downloadable files: URL, size and checksum, by name.

``download.<dataset>.files`` in params.yaml lists names from here or inline entries of the
same fields. A file with no registered checksum is still downloaded, and its sha256 is
logged so that it can be pinned here.
"""
from __future__ import annotations

from sgrn.data.download import RemoteFile

MIRFLICKR_BASE = "https://press.liacs.nl/mirflickr/mirflickr25k.v3b"

REGISTRY: dict[str, RemoteFile] = {
    # MIRFLICKR-25000 (Huiskes & Lew, ACM MIR 2008), LIACS Leiden. The md5 is the one the
    # download page publishes for the image archive (not re-checked here: no network).
    "mirflickr25k.zip": RemoteFile(
        name="mirflickr25k.zip", url=f"{MIRFLICKR_BASE}/mirflickr25k.zip",
        md5="a23d0a8564ee84cda5622a6c2f947785"),
    # The 24 concept lists (plain and *_r1) and README.txt; no checksum is published.
    "mirflickr25k_annotations_v080.zip": RemoteFile(
        name="mirflickr25k_annotations_v080.zip",
        url=f"{MIRFLICKR_BASE}/mirflickr25k_annotations_v080.zip"),
}

# What each archive-based source needs, in order.
SOURCE_FILES = {
    "mirflickr25k": ("mirflickr25k.zip", "mirflickr25k_annotations_v080.zip"),
}


def resolve(entry: str | dict) -> RemoteFile:
    """A registry name, or an inline {name, url, size, sha256, md5} mapping, as a RemoteFile."""
    if isinstance(entry, str):
        if entry not in REGISTRY:
            raise KeyError(f"'{entry}' is not in the registry of known files "
                           f"(known: {sorted(REGISTRY)}); give url/name/sha256 inline instead")
        return REGISTRY[entry]
    fields = dict(entry)
    if "name" not in fields:
        fields["name"] = fields["url"].rstrip("/").rsplit("/", 1)[-1]
    return RemoteFile(**fields)
