"""The Redis key of the sale reminders."""


def progress_key(run_id: int) -> str:
    """Counts of a running fan-out, for the admin's progress bar."""
    return f"reminders:v1:run:{run_id}"
