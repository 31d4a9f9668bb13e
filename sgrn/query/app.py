"""The pages of ``sgrn serve``: a search form over the trained runs, ranked results of one
run or two side by side, the report's tables and plots, and the images they show.

Encoding and ranking are sgrn.query.search's (``make_query``, ``search``); this module reads the
form, checks it, and lays the results out. Bad input is answered with the page, its message
and a 4xx status; nothing is written anywhere except an uploaded image, which lives in a
temporary folder for the duration of its query.
"""
from __future__ import annotations

import base64
import io
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from sgrn.query.files import ImageFolders, report_plots, report_tables
from sgrn.query.runs import RunCache, RunKey, ServedRun, find_runs
from sgrn.query.search import MODALITIES, Query, SearchError, make_query, parse_tags, search
from sgrn.retrieval.codes import check_threads

K_MAX = 100
MAX_IMAGE_PIXELS = 40_000_000  # largest query image, width x height, read from its header before decoding
K_DEFAULT = 10
KINDS = ("tags", "image", "item", "random")
TARGETS = ("cross", "image", "text")
ARROW = {"image": "I", "text": "T"}


def mib(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.3g} MiB"


def megapixels(n_pixels: int) -> str:
    return f"{n_pixels / 1e6:.3g} megapixels"


class PageError(Exception):
    """Bad input: shown in the page with this HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Form:
    """The search form, checked. ``kind`` None: no query yet, only the form."""

    run: RunKey | None
    compare: RunKey | None = None
    kind: str | None = None
    tags: str = ""
    item: int | None = None
    item_modality: str = "image"
    target: str = "cross"
    k: int = K_DEFAULT


def _int(fields, name: str, what: str, default=None) -> int | None:
    raw = str(fields.get(name, "") or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise PageError(400, f"{what}: expected a whole number, got {raw!r}") from None


def _choice(fields, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(fields.get(name, "") or default)
    if value not in allowed:
        raise PageError(400, f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _run_key(fields, runs: list[RunKey], suffix: str = "", like: RunKey | None = None) -> RunKey | None:
    """The run named by dataset, method{suffix}, config{suffix}, bits{suffix}, seed{suffix}
    (those not given: as in ``like``, the config else 0); 404 when there is no such run."""
    method = str(fields.get(f"method{suffix}", "") or "")
    if not method:
        return None
    config = _int(fields, f"config{suffix}", "configuration", like.config if like else 0)
    bits = _int(fields, f"bits{suffix}", "code length", like.bits if like else None)
    seed = _int(fields, f"seed{suffix}", "seed", like.seed if like else None)
    if bits is None or seed is None:
        raise PageError(400, f"{'code length' if bits is None else 'seed'} of the run: missing")
    key = RunKey(str(fields.get("dataset", "")), method, config, bits, seed)
    if key not in runs:
        listed = ", ".join(str(r) for r in runs[:12]) + (" ..." if len(runs) > 12 else "")
        raise PageError(404, f"unknown run {key}: no results/{key}/ with model.pt and codes.h5 "
                             f"(trained runs: {listed or 'none'})")
    return key


def default_run(runs: list[RunKey]) -> RunKey | None:
    """SGRN at its longest code of the first dataset, else the first run."""
    if not runs:
        return None
    first = [r for r in runs if r.dataset == runs[0].dataset]
    sgrn = [r for r in first if r.method == "sgrn"]
    return max(sgrn, key=lambda r: (r.bits, -r.seed)) if sgrn else runs[0]


def parse_form(fields, runs: list[RunKey]) -> Form:
    kind = str(fields.get("kind", "") or "") or None
    if kind is not None and kind not in KINDS:
        raise PageError(400, f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    run = _run_key(fields, runs) if fields.get("method") else default_run(runs)
    if kind is not None and run is None:
        raise PageError(404, "no trained runs under results/: run `make demo` first")
    compare = _run_key(fields, runs, "_b", like=run) if run is not None else None
    k = _int(fields, "k", "K", K_DEFAULT)
    if not 1 <= k <= K_MAX:
        raise PageError(400, f"K: expected a whole number from 1 to {K_MAX}, got {k}")
    form = Form(run, compare, kind, str(fields.get("tags", "") or ""),
                _int(fields, "item", "query item"),
                _choice(fields, "item_modality", MODALITIES, "image"),
                _choice(fields, "target", TARGETS, "cross"), k)
    if kind == "tags" and not parse_tags(form.tags):
        raise PageError(400, "the tag string is empty: type one or more tags, separated by "
                             "spaces or commas")
    if kind == "item" and form.item is None:
        raise PageError(400, "query item: give the number of a test-split query item, or pick "
                             "one at random")
    return form


@dataclass
class Upload:
    name: str
    data: bytes
    format: str              # PIL's name of the image format

    @property
    def data_uri(self) -> str:
        mime = Image.MIME.get(self.format, "application/octet-stream")
        return f"data:{mime};base64,{base64.b64encode(self.data).decode()}"


async def read_upload(value, limit: int) -> Upload:
    """The uploaded image, refused when missing, over ``limit`` bytes, over MAX_IMAGE_PIXELS
    (from its header: nothing is decoded) or not an image."""
    if not isinstance(value, UploadFile) or not value.filename:
        raise PageError(400, "no image file chosen: pick an image file to upload")
    data = await value.read(limit + 1)
    if len(data) > limit:
        raise PageError(413, f"{value.filename}: the image is over the upload limit of {mib(limit)}")
    if not data:
        raise PageError(400, f"{value.filename}: the file is empty")
    too_large = f"{value.filename}: the image is over the limit of {megapixels(MAX_IMAGE_PIXELS)}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:  # reads the header only
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise PageError(413, f"{too_large} ({width} x {height} pixels); upload a smaller one")
                img.verify()
                fmt = img.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # PIL's own limits, above ours
        raise PageError(413, f"{too_large} (PIL refuses it as a decompression bomb); upload a smaller one") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise PageError(415, f"{value.filename}: not an image file that can be read "
                             f"({type(err).__name__}); upload a JPEG or PNG") from None
    return Upload(value.filename, data, fmt or "")


class Browser:
    """The state of one server: the project root, opened runs, image folders, one search at
    a time (torch and the search kernels size their thread pools for the whole machine)."""

    def __init__(self, root: Path, threads: int | None = None, max_upload_bytes: int = 10 * 2**20):
        self.root = root
        self.threads = check_threads(threads)
        self.max_upload_bytes = max_upload_bytes
        self.cache = RunCache(root)
        self.images = ImageFolders(root)
        self.lock = threading.Lock()
        self.preloading: threading.Thread | None = None

    def preload(self) -> threading.Thread:
        """Open every run in the background, the default one first, and make one search on
        each: the first query of a run then finds it open and the kernels loaded."""
        runs = find_runs(self.root)
        first = default_run(runs)
        order = ([first] if first else []) + [r for r in runs if r != first]
        self.preloading = self.cache.preload(order, self._warm)
        return self.preloading

    def _warm(self, served: ServedRun) -> None:
        run = served.run
        run.numpy_text_net()
        if served.n_queries:
            with self.lock:
                search(run, Query("item", "warm-up", "image"), served.query_codes["image"][:1], 1,
                       threads=self.threads)

    def served(self, key: RunKey) -> ServedRun:
        try:
            return self.cache.get(key)
        except (SearchError, OSError, ValueError) as err:
            raise PageError(500, f"run {key} cannot be opened: {err}") from None

    def image_url(self, dataset: str, image: str | None) -> str | None:
        return f"/image/{quote(dataset)}/{quote(image)}" if image else None

    def answer(self, form: Form, upload: Upload | None) -> tuple[dict, list[dict]]:
        """The query as shown and one column of results per run."""
        keys = [form.run] + ([form.compare] if form.compare else [])
        runs = [self.served(key) for key in keys]
        with self.lock, tempfile.TemporaryDirectory(prefix="sgrn-serve-") as tmp:
            shown, item = self._query_view(form, runs, upload, Path(tmp))
            columns = [self._column(form, served, shown, item) for served in runs]
        if form.kind == "tags":
            shown["tags_used"] = columns[0]["result"]["query"]["tags_used"]
            shown["tags_ignored"] = columns[0]["result"]["query"]["tags_ignored"]
        return shown, columns

    def _query_view(self, form: Form, runs: list[ServedRun], upload: Upload | None, tmp: Path):
        shown = {"kind": form.kind}
        if form.kind == "tags":
            shown["tags"] = form.tags
            return shown, None
        if form.kind == "image":
            path = tmp / ("query." + (upload.format or "img").lower())
            path.write_bytes(upload.data)
            shown.update(name=upload.name, data_uri=upload.data_uri, file=str(path))
            return shown, None
        first = runs[0]
        for other in runs[1:]:
            if not np.array_equal(other.query_rows, first.query_rows):
                raise PageError(400, f"runs {first.key} and {other.key} have different test "
                                     "queries: compare runs of the same split")
        n = first.n_queries
        if form.kind == "random":
            form.item = int(np.random.default_rng().integers(n))
        if not 0 <= form.item < n:
            raise PageError(400, f"query item: expected a number from 0 to {n - 1} (the test "
                                 f"split of {first.key.dataset} has {n} queries), got {form.item}")
        row = int(first.query_rows[form.item])
        info = first.run.data.describe([row])[row]
        labels = first.query_labels[form.item]
        shown.update(item=form.item, row=row, modality=form.item_modality, tags=info["tags"],
                     image_url=self.image_url(first.key.dataset, info["image"]),
                     labels=[int(j) for j in np.flatnonzero(labels)], random=form.kind == "random")
        return shown, labels

    def _column(self, form: Form, served: ServedRun, shown: dict, item_labels) -> dict:
        run = served.run
        target = None if form.target == "cross" else form.target
        start = time.perf_counter()
        try:
            if form.kind == "tags":
                query, code = make_query(run, tags=form.tags, threads=self.threads)
            elif form.kind == "image":
                query, code = make_query(run, image=shown["file"], threads=self.threads)
            else:
                modality = form.item_modality
                code = served.query_codes[modality][form.item:form.item + 1]
                query = Query("item", f"test query {form.item}", modality)
            result = search(run, query, code, form.k, target, self.threads)
        except SearchError as err:
            raise PageError(400, f"{served.key}: {err}") from None
        millis = 1000 * (time.perf_counter() - start)
        rows = [r["id"] for r in result["results"]]
        relevant = None
        if item_labels is not None and item_labels.any() and rows:
            relevant = (served.labels_of(rows) & item_labels).any(axis=1).tolist()
        for i, r in enumerate(result["results"]):
            r["image_url"] = self.image_url(served.key.dataset, r["image"])
            r["relevant"] = relevant[i] if relevant is not None else None
        return {
            "key": served.key,
            "result": result,
            "direction": f"{ARROW[query.modality]}\u2192{ARROW[result['target']]}",
            "millis": millis,
            "relevant": sum(relevant) if relevant is not None else None,
            "precision": sum(relevant) / len(relevant) if relevant else None,
        }


def _choices(runs: list[RunKey]) -> dict[str, list]:
    return {"datasets": sorted({r.dataset for r in runs}), "methods": sorted({r.method for r in runs}),
            "configs": sorted({r.config for r in runs}), "bits": sorted({r.bits for r in runs}),
            "seeds": sorted({r.seed for r in runs})}


def create_app(root: str | Path = ".", threads: int | None = None,
               max_upload_bytes: int = 10 * 2**20, preload: bool = True) -> Starlette:
    """The web application over the runs under ROOT/results; ``preload``: open them in the
    background now (Browser.preload), not at their first query."""
    root = Path(root).resolve()
    browser = Browser(root, threads, max_upload_bytes)
    if preload:
        browser.preload()
    env = Environment(loader=PackageLoader("sgrn.query", "templates"), autoescape=select_autoescape())
    templates = Jinja2Templates(env=env)
    for name in ("search.html", "results.html"):  # compiled now, not at the first query
        env.get_template(name)
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

    def page(request: Request, runs, sent: dict, status: int = 200, error: str | None = None,
             shown=None, columns=()) -> Response:
        """The search page; the form shows what was sent, else the default run."""
        run = default_run(runs)
        values = {"dataset": run.dataset if run else "", "method": run.method if run else "",
                  "config": str(run.config) if run else "", "bits": str(run.bits) if run else "",
                  "seed": str(run.seed) if run else "",
                  "k": str(K_DEFAULT), "target": "cross", "item_modality": "image", **sent}
        return templates.TemplateResponse(request, "search.html", {
            "runs": runs, "choices": _choices(runs), "values": values, "error": error,
            "shown": shown, "columns": columns, "k_max": K_MAX,
            "max_upload": mib(browser.max_upload_bytes)}, status_code=status)

    async def search_page(request: Request) -> Response:
        runs = find_runs(root)
        fields = request.query_params
        sent: dict[str, str] = {}
        try:
            if request.method == "POST":
                length = request.headers.get("content-length", "")
                if length.isdigit() and int(length) > browser.max_upload_bytes + 2**16:
                    raise PageError(413, "the request is over the upload limit of "
                                         f"{mib(browser.max_upload_bytes)}")
                try:
                    fields = await request.form(max_files=1, max_fields=32)
                except Exception as err:  # a malformed multipart body
                    raise PageError(400, f"the form could not be read: {err}") from None
            sent = {name: value for name, value in fields.items() if isinstance(value, str)}
            form = parse_form(fields, runs)
            if form.kind is None:
                return page(request, runs, sent)
            upload = None
            if form.kind == "image":
                upload = await read_upload(fields.get("image"), browser.max_upload_bytes)
            shown, columns = await run_in_threadpool(browser.answer, form, upload)
            if form.kind == "random":  # the item picked, so that the form can ask for it again
                sent["item"] = str(form.item)
            return page(request, runs, sent, shown=shown, columns=columns)
        except PageError as err:
            return page(request, runs, sent, err.status, err.message)
        finally:
            if request.method == "POST" and hasattr(fields, "close"):
                await fields.close()

    async def image(request: Request) -> Response:
        dataset, relative = request.path_params["dataset"], request.path_params["path"]
        if dataset not in {r.dataset for r in find_runs(root)}:
            return PlainTextResponse(f"no dataset {dataset!r} with trained runs", status_code=404)
        path = await run_in_threadpool(lambda: browser.images.get(dataset).resolve(relative))
        if path is None:
            return PlainTextResponse(f"not an image of dataset {dataset!r}: {relative}", status_code=404)
        return FileResponse(path)

    async def results_page(request: Request) -> Response:
        tables = [{"name": p.name, "html": markdown.render(p.read_text(encoding="utf-8"))}
                  for p in report_tables(root)]
        return templates.TemplateResponse(request, "results.html",
                                          {"tables": tables, "plots": report_plots(root)})

    async def plot(request: Request) -> Response:
        name = request.path_params["name"]
        folder = (root / "results" / "plots").resolve()
        path = (folder / name).resolve()
        if name not in report_plots(root) or not path.is_relative_to(folder):
            return PlainTextResponse(f"no plot {name!r} in results/plots", status_code=404)
        return FileResponse(path)

    routes = [
        Route("/", search_page, methods=["GET", "POST"]),
        Route("/results", results_page),
        Route("/image/{dataset}/{path:path}", image),
        Route("/plots/{name}", plot),
    ]
    app = Starlette(routes=routes)
    app.state.browser = browser
    return app
