"""Celery beat for this product: one beat sends at a time (beat.LockedScheduler)."""
