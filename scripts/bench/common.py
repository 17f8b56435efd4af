"""What scripts/bench/run and scripts/bench/race share: paths, the environment every measured
process gets, the PyTorch check and reading a command's last JSON line."""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"
TORCH_TRAIN = os.path.join(ROOT, "scripts", "bench", "torch_train.py")


class BenchError(Exception):
    """A failed command, its message one line naming the configuration."""


def base_env():
    """One BLAS thread per process (dptrain runs one per OpenMP thread; PyTorch sets its own),
    Open MPI allowed as root, OMP_NUM_THREADS left to each tool."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.pop("OMP_NUM_THREADS", None)
    return env


def torch_problem():
    """None when PYTHON imports torch and numpy, else one line saying what is missing and how to
    get it."""
    probe = subprocess.run([PYTHON, "-c", "import torch, numpy"], capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    missing = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "torch"
    return (f"{PYTHON} cannot import PyTorch ({missing}; Debian: apt-get install python3-torch), "
            "or run with --no-torch")


def last_json(stdout, label):
    """The JSON object on the last line of a command's standard output."""
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BenchError(f"{label}: no JSON line on standard output") from None
