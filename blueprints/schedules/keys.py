"""Every Redis key of beat's schedule, in one place."""

CHANGED_CHANNEL = "beat:v1:schedule-changed"  # an entry was edited: beat reads the table now
LOCK_KEY = "beat:v1:lock"  # the one-beat lease: who sends, until when
