"""Shared scaffolding of the step scripts: common arguments and clean failures."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Callable

from sgrn.data.errors import DataError
from sgrn.files.h5 import IncompleteFileError
from sgrn.files.logs import setup_logging
from sgrn.settings.paramfile import ParamsError

# Bad input the user can fix: reported as one clear line, exit status 2 (sgrn.training.checkpoint's
# CheckpointError is a DataError, sgrn.training.device's DeviceError a ParamsError).
USER_ERRORS: tuple[type[BaseException], ...] = (ParamsError, IncompleteFileError, FileNotFoundError,
                                                DataError)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="parameters file (default: params.yaml)")
    p.add_argument("--log", default=None, help="also write the log to this file")
    return p


def set_threads(n: int) -> None:
    """Fixed thread counts: results must not depend on which driver started the step."""
    import torch  # here, not at the top: evaluate, curves and report never load torch

    torch.set_num_threads(n)


def _stop(signum, frame):
    raise KeyboardInterrupt


def run(main: Callable[[argparse.Namespace, logging.Logger], None], args: argparse.Namespace) -> None:
    log = setup_logging(args.log)
    # A job cancelled by Snakemake, DVC or SLURM gets SIGTERM: stop as on Ctrl-C, so that
    # temporary outputs are removed and the training state of the last checkpoint is kept.
    signal.signal(signal.SIGTERM, _stop)
    try:
        main(args, log)
    except USER_ERRORS as err:
        log.error("%s", err)
        sys.exit(2)
    except KeyboardInterrupt:
        log.error("interrupted: partial outputs removed, rerun to continue")
        sys.exit(130)
