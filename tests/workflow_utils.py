"""Helpers for the workflow tests: a copy of the project with tiny params, and the drivers."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def env() -> dict[str, str]:
    """The venv first on PATH: both drivers run the steps as `python scripts/...`."""
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e.setdefault("GIT_AUTHOR_NAME", "test")
    e.setdefault("GIT_AUTHOR_EMAIL", "test@example.com")
    e.setdefault("GIT_COMMITTER_NAME", "test")
    e.setdefault("GIT_COMMITTER_EMAIL", "test@example.com")
    e["DVC_NO_ANALYTICS"] = "1"
    return e


def run(args: list[str], cwd: Path, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-4000:]}")
    return proc


def project_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files of the checkout."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if (REPO / line).is_file() or (REPO / line).is_symlink()]


TINY = {
    "bits": [16],
    "methods": ["sgrn"],
    "download": {"demo": {"source": "demo", "n_pairs": 300, "seed": 0, "image_size": 64}},
    "prepare": {"demo": {"min_tag_count": 3, "missing_images": "error",
                         "split": {"seed": 0, "query_per_label": 3, "train_per_label": 10,
                                   "first_label_scale": 2, "n_validation": 20}}},
    "train": {"epochs": 2, "validate_every": 1, "text_hidden": 256},
    "evaluate": {"topk": [1, 10, 50]},
}


def tiny_copy(dest: Path, git: bool = False, **overrides) -> Path:
    """The project copied to `dest` with the tiny demo params (a few hundred pairs, 2 epochs)."""
    for rel in project_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / rel).is_symlink():
            target.symlink_to(os.readlink(REPO / rel))
        else:
            shutil.copy2(REPO / rel, target)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    for key, value in {**TINY, **overrides}.items():
        # download/prepare keep their other datasets: method_params' per_dataset keys name them
        if isinstance(value, dict) and key in ("train", "evaluate", "extract", "download", "prepare"):
            params[key].update(value)
        else:
            params[key] = value
    write_params(dest, params)
    if git:
        run(["git", "init", "-q", "-b", "main"], dest)
        run(["git", "add", "-A"], dest)
        run(["git", "commit", "-q", "-m", "tiny project"], dest)
    return dest


def read_params(root: Path) -> dict:
    return yaml.safe_load((root / "params.yaml").read_text())


def write_params(root: Path, params: dict) -> None:
    """params.yaml, and dvc.yaml generated for it (`make dvc.yaml`) where it validates: dvc.yaml
    writes out the methods, so the two must change together."""
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if (root / "dvc.yaml").exists():
        run([sys.executable, "-m", "sgrn.workflow.dvcgen", "--root", str(root)], root, check=False)


def snakemake_dry_run(root: Path, *extra: str) -> list[dict]:
    """The jobs a dry run would execute: rule, shell command, inputs and outputs."""
    out = run([str(BIN / "snakemake"), "-n", "-p", "--cores", "1", *extra], root).stdout
    jobs = []
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?(?:rule|checkpoint) )", out):
        rule = re.search(r"^(?:local)?(?:rule|checkpoint) (\w+):", block, re.M)
        if not rule:
            continue
        fields = dict(re.findall(r"^    (input|output): (.*)$", block, re.M))
        cmd = re.search(r"^Shell command: (.*)$", block, re.M)
        jobs.append({
            "rule": rule.group(1),
            "cmd": cmd.group(1) if cmd else None,
            "inputs": set(filter(None, fields.get("input", "").split(", "))),
            "outputs": set(filter(None, fields.get("output", "").split(", "))),
        })
    return jobs
