"""gunicorn's settings for this app (read from the working directory).

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its HTTP metrics to files
there and /metrics adds them up (blueprints/ops/metrics.py). The directory must
start empty, and a dead worker's live gauges must stop counting.
"""

import os
import shutil
from pathlib import Path


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
