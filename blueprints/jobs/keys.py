"""The Redis key of the task status API."""


def owner_key(task_id: str) -> str:
    """Who queued the task (a browser), so only they may read its status."""
    return f"jobs:v1:owner:{task_id}"
