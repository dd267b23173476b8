"""The API as /api/openapi.json describes it, tried with inputs schemathesis
generates from that description: no 500, and every answer as documented.

`pytest tests/test_openapi.py --hypothesis-show-statistics` counts the cases.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from exts import limiter

# Per operation and mode (valid input, invalid input). 60, not 50, since the
# schemas refuse unknown fields: a write that takes {} has fewer valid bodies
# to try, and the run still makes more requests than before (7,604 at 50).
EXAMPLES = 60
pytestmark = pytest.mark.integration  # NUL, say, matters on PostgreSQL, not SQLite

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # what the description forbids, the code refuses
]


def test_every_operation_answers_as_documented(app, admin_cookie, worker):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    cases: Counter[str] = Counter()
    for operation in (result.ok() for result in schema.get_all_operations()):
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def try_case(case):
                with app.app_context():
                    limiter.reset()  # or most cases would only see 429
                case.call_and_validate(checks=CHECKS)  # anonymous
                case.call_and_validate(headers={"Cookie": admin_cookie}, checks=CHECKS)
                cases[case.operation.label] += 2

            try:
                try_case()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # no input there to get wrong
    print(f"schemathesis: {cases.total()} requests over {len(cases)} operations")
    assert len(cases) == len(list(schema.get_all_operations()))
