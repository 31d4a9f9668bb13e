#!/usr/bin/env python
"""Step 1, download: put a dataset's raw folder under resources/raw/{dataset}.

Sources (download.<dataset>.source in params.yaml):
  demo          generate the synthetic demo dataset from a seed
  local         a list-format folder already on disk, used in place (a pointer is written)
  mirflickr25k  the two official MIRFlickr-25K archives, downloaded (or found under `path`),
                extracted and cleaned to the standard 20,015-pair list format
  archive       zip/tar archives holding a list-format folder (`subdir` inside them)
  mat           .mat feature files (DCMH style or split by file), on disk or downloaded
Downloads and extracted archives live in `store` (default resources/downloads), outside the
step's output, so an interrupted or failed run loses nothing and the next one resumes.
"""
from pathlib import Path

from sgrn.cli import parser, run
from sgrn.data.errors import DataError
from sgrn.files.atomic import atomic_path
from sgrn.settings.paramfile import load_params


def fetch_all(cfg, dataset, names=()):
    """Fetch the configured files (or the registry's ``names``) into the store."""
    from sgrn.data.download import fetch
    from sgrn.data.registry import resolve

    store = Path(cfg["store"]) / dataset
    entries = cfg.get("files") or list(names)
    if not entries:
        raise DataError(f"download.{dataset}: expected `path` (data on disk) or `files` (to download)")
    return [fetch(resolve(e), store, retries=cfg["retries"], backoff=cfg["backoff"],
                  timeout=cfg["timeout"]) for e in entries]


def extracted(archive, store):
    """The archive unpacked next to it (once; reused when already there)."""
    from sgrn.data.archives import extract

    stem = archive.name
    for suffix in (".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return extract(archive, Path(store) / f"{stem}.extracted")


def on_disk(cfg, dataset):
    path = Path(cfg["path"])
    if not path.exists():
        raise DataError(f"download.{dataset}.path: {path} does not exist (relative paths are "
                        f"relative to {Path.cwd()})")
    return path


def mirflickr(cfg, dataset, tmp, log):
    from sgrn.data.archives import is_archive
    from sgrn.data.mirflickr import convert
    from sgrn.data.rawdir import write_pointer
    from sgrn.data.registry import SOURCE_FILES

    names = SOURCE_FILES["mirflickr25k"]
    if cfg.get("path"):
        folder = on_disk(cfg, dataset)
        archives = [folder / n for n in names if (folder / n).is_file()]
        store = Path(cfg["store"]) / dataset
    else:
        archives = fetch_all(cfg, dataset, names)
        folder = store = archives[0].parent
    if archives:
        if len(archives) != len(names):
            raise DataError(f"{folder}: expected both {' and '.join(names)}, found "
                            f"{[a.name for a in archives]}")
        trees = [extracted(a, store) for a in archives if is_archive(a)]
        # whichever order the files were listed in: the image archive has mirflickr/meta/tags
        images = next((t for t in trees if any(t.glob("*/meta/tags"))), trees[0])
        annotations = next((t for t in trees if t != images), images)
    else:  # the archives already extracted under `path`
        images = annotations = folder
    counts = convert(images, annotations, tmp, bad_tags=cfg["bad_tags"])
    write_pointer(tmp, "list", images=counts.pop("image_root"), origin="mirflickr25k official archives")
    log.info("%s: %s", dataset, counts)


def main(args, log):
    cfg = load_params(args.params)["download"][args.dataset]
    source = cfg["source"]
    with atomic_path(args.out) as tmp:
        if source == "demo":
            from sgrn.data.demo import generate_demo

            counts = generate_demo(tmp, n_pairs=cfg["n_pairs"], seed=cfg["seed"],
                                   image_size=cfg["image_size"])
            log.info("generated demo dataset in %s: %s", args.out, counts)
        elif source == "local":
            from sgrn.data.listformat import IMAGES_FILE
            from sgrn.data.rawdir import write_pointer

            root = on_disk(cfg, args.dataset)
            if not (root / IMAGES_FILE).is_file():
                raise DataError(f"download.{args.dataset}.path: {root} has no {IMAGES_FILE}; "
                                "expected a list-format folder")
            write_pointer(tmp, "list", root=root, origin=f"on disk: {cfg['path']}")
            log.info("%s: using the list-format folder %s in place", args.dataset, root.resolve())
        elif source == "mirflickr25k":
            mirflickr(cfg, args.dataset, tmp, log)
        elif source == "archive":
            from sgrn.data.rawdir import write_pointer

            archives = [on_disk(cfg, args.dataset)] if cfg.get("path") else fetch_all(cfg, args.dataset)
            store = Path(cfg["store"]) / args.dataset
            trees = [extracted(a, store) for a in archives]
            root = trees[0] / cfg["subdir"]
            write_pointer(tmp, "list", root=root, origin=f"archive {archives[0].name}")
            log.info("%s: list-format folder %s", args.dataset, root)
        elif source == "mat":
            from sgrn.data.matfile import mat_version
            from sgrn.data.rawdir import write_pointer

            if cfg.get("path"):
                path = on_disk(cfg, args.dataset)
                files = sorted(path.glob("*.mat")) if path.is_dir() else [path]
            else:
                files = fetch_all(cfg, args.dataset)
            if not files:
                raise DataError(f"download.{args.dataset}.path: no .mat file in {cfg['path']}")
            versions = {str(f): mat_version(f) for f in files}  # refuse non-.mat files now
            write_pointer(tmp, "mat", mat_files=files, origin="mat files")
            log.info("%s: .mat files %s", args.dataset, versions)
        else:  # the schema allows no other value
            raise DataError(f"download.{args.dataset}.source: unknown source {source!r}")


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="raw dataset folder to create")
    run(main, p.parse_args())
