"""``sgrn serve``: the retrieval browser on a local address (docs/browser.md).

The page is the Starlette application of sgrn/query/; uvicorn serves it on a loopback socket
that is bound here first, so that the address printed is the one listening (port 0: a free
port chosen by the system). Ctrl-C (or SIGTERM) shuts the server down cleanly.
"""
from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

HOST = "127.0.0.1"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "serve", help="a web page to query the trained runs under results/",
        description="Serve the retrieval browser on 127.0.0.1: query the trained runs under "
                    "ROOT/results by tags, an uploaded image or a test-split item, compare two "
                    "runs side by side, and see the report's tables and plots.")
    p.add_argument("--root", default=".", help="project folder holding results/ (default: .)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for encoding and search (default: all of this process's CPUs)")
    p.add_argument("--max-upload-mb", type=float, default=10.0,
                   help="largest query image accepted, MiB (default 10)")
    p.set_defaults(func=main)
    return p


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        raise ValueError(f"--port {port}: cannot listen on {HOST}:{port} ({err.strerror})") from None
    # listening before the address is printed: a browser that comes at once waits in the
    # backlog until uvicorn accepts, instead of being refused
    sock.listen(128)
    return sock


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from sgrn.query.app import create_app
    from sgrn.query.runs import find_runs
    from sgrn.retrieval.codes import check_threads

    root = Path(args.root)
    try:
        if not (root / "results").is_dir():
            raise ValueError(f"{root.resolve() / 'results'}: no such folder; run `make demo` "
                             "first, or give the project folder with --root")
        if not 0 <= args.port <= 65535:
            raise ValueError(f"--port must be from 0 to 65535, got {args.port}")
        if not args.max_upload_mb > 0:
            raise ValueError(f"--max-upload-mb must be positive, got {args.max_upload_mb}")
        threads = check_threads(args.threads)
        sock = bind(args.port)
    except ValueError as err:
        print(f"sgrn serve: error: {err}", file=sys.stderr)
        return 2
    app = create_app(root, threads, int(args.max_upload_mb * 2**20))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="off"))
    port = sock.getsockname()[1]
    print(f"sgrn serve: {len(find_runs(root.resolve()))} trained runs under {root.resolve() / 'results'}",
          flush=True)
    print(f"sgrn serve: open http://{HOST}:{port}/  (Ctrl-C stops)", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down first, then passes the signal on
        pass
    finally:
        sock.close()
    print("sgrn serve: stopped", flush=True)
    return 0
