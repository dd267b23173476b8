"""One package per feature (pages, API, schemas, service, tasks, keys together),
and ``core``, the foundation they stand on."""
