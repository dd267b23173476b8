"""Every Redis key of the operator's side, in one place."""

REVOKED_KEY = "ops:v1:revoked"  # revoked task ids by time: a worker that starts loads them
HEARTBEATS_KEY = "ops:v1:heartbeats"  # each worker's last heartbeat and what it consumes
SHARED_KEY = "metrics:v1:shared"  # counts every process adds to, for /metrics
