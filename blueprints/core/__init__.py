"""The foundation the features stand on. It imports no feature, and
``config.py``, ``exts.py`` and ``tasks.py`` import nothing else of
``blueprints`` (tests/test_structure.py holds both).

- The HTTP contract: ``api`` (refusals, their statuses, JSON-only writes, the
  error pages), ``fields`` (input fields in the form's words), ``openapi``
  (flask-smorest set to that contract, and the document), ``i18n`` (languages).
- Redis: ``servers`` (the URL forms, and what each user of Redis derives from
  ``REDIS_URL``), ``redis_client`` (the product's client), ``lua`` (scripts
  beside the code that runs them), ``streams`` (work handed over in a stream),
  ``replication`` (waiting for replicas), ``local_copies`` (per-process copies
  dropped by a broadcast).
- Celery: ``queueing`` (queueing without failing a request, queue names).
- ``internals``: every use of a library's private parts (Flask-Mail with a
  timeout among them), each held by a test.
"""
