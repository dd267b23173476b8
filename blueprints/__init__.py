"""One package per feature: views, tasks and services together."""
