"""The OpenAPI document against the app, as schemathesis generates requests from it.

Every operation, with examples generated from the document (valid and invalid), is sent
in-process to the app on a real database, with the token of each role in turn: no answer
is a 5xx, and every answer is one the document declares (status, media type, body).
Bounded so that the whole takes a minute or two on a CI machine.
"""

import os

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.schemas.vocabulary import Role
from tests.factories import auth, create_user, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROLES = (Role.LEAD, Role.CLEANER, Role.CLASS_TEACHER, Role.COUNSELOR)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def tokens(client: TestClient, app: FastAPI) -> dict[Role, dict[str, str]]:
    return {role: auth(login(client, create_user(app, role).username)["token"]) for role in ROLES}


# Examples per operation and mode: 40 operations, two modes, four roles per example, about
# half a minute per database; CAREROUNDS_SCHEMATHESIS_EXAMPLES asks for a longer search.
EXAMPLES = int(os.environ.get("CAREROUNDS_SCHEMATHESIS_EXAMPLES", "12"))


# Hypothesis is driven here, operation by operation, rather than through schemathesis'
# pytest plugin (`from_fixture`), which fails on this pytest ("no attribute '_nodeid'"):
# each operation's failures are gathered, so one run reports all of them.
def _failures(operation: schemathesis.APIOperation, tokens: dict[Role, dict[str, str]]) -> str:
    """What broke for one operation ("" when nothing did), the first failure of each mode."""
    said = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            suppress_health_check=list(HealthCheck),
            deadline=None,
            database=None,
            phases=[Phase.generate],  # no shrinking: the report says what broke, not why
        )
        def run(case: schemathesis.Case) -> None:
            for role in ROLES:
                case.call_and_validate(headers=tokens[role], checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # nothing to get wrong: no parameter, no body (the health check)
            continue
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - one run, every failure
            said.append(f"{operation.label} ({mode}): {str(exc)[:1500]}")
    return "\n".join(said)


def test_every_answer_is_declared_and_none_is_a_5xx(
    app: FastAPI, tokens: dict[Role, dict[str, str]]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Signing out ends the tokens every other operation is sent with: it goes last.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: op.label == "POST /api/v1/auth/logout",
    )
    assert len(operations) > 30
    failures = [f for f in (_failures(op, tokens) for op in operations) if f]
    assert not failures, "\n\n".join(failures)


def test_the_document_declares_errors_and_files(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    push = paths["/api/v1/sync/push"]["post"]["responses"]
    for code in ("400", "401", "403", "404", "409", "413", "415", "422"):
        assert push[code]["content"] == error, code
    disinfection = paths["/api/v1/reports/disinfection"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv", XLSX} <= set(disinfection)
    record = paths["/api/v1/reports/daily-record"]["get"]["responses"]["200"]["content"]
    assert set(record) == {"application/pdf", XLSX}
    assert "401" not in paths["/api/v1/health"]["get"]["responses"]
