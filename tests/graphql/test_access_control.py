"""Every root field refuses a caller without a valid key (401) or without its scope.

The root fields are found by introspection, not listed here, so a field added later is
probed too: without a permission it answers a key that lacks the scope, and these tests
fail.
"""

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.permission import BasePermission

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.graphql.permissions import CanRead
from gql_server.graphql.schema import UnguardedFieldError, assert_every_root_field_guarded
from gql_server.services.api_keys import BASE62, create_api_key, revoke_api_key
from gql_server.web.throttle import FailureThrottle
from tests.graphql.conftest import make_key
from tests.support.live_server import LiveServer

DUMMY_ID = base64.urlsafe_b64encode(b"Printer:1").decode().rstrip("=")
DUMMY_SCALARS: dict[str, Any] = {
    "ID": DUMMY_ID,
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "DateTime": "2030-01-01T00:00:00+00:00",
    "JSON": {},
}
KEY_MANAGEMENT = {"Query.apiKeys", "Mutation.createApiKey", "Mutation.revokeApiKey"}

# Four levels: enough for the deepest wrapping in the schema, [ApiKeyScope!]!.
TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
INTROSPECTION = f"""
{{ __schema {{
    queryType {{ name }}
    mutationType {{ name }}
    types {{
      kind name
      fields {{ name args {{ name defaultValue type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }}
      inputFields {{ name defaultValue type {{ {TYPE_REF} }} }}
      enumValues {{ name }}
    }}
}} }}
"""


@dataclass(frozen=True)
class Probe:
    """The smallest valid operation that reaches one root field."""

    root: str
    field: str
    document: str
    variables: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.root}.{self.field}"


def _type_literal(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return _type_literal(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{_type_literal(ref['ofType'])}]"
    return ref["name"]


def _named(ref: dict[str, Any]) -> dict[str, Any]:
    while ref.get("ofType") is not None:
        ref = ref["ofType"]
    return ref


def _is_required(value: dict[str, Any]) -> bool:
    return value["type"]["kind"] == "NON_NULL" and value["defaultValue"] is None


def _dummy_value(ref: dict[str, Any], types: dict[str, dict[str, Any]]) -> Any:
    if ref["kind"] == "NON_NULL":
        return _dummy_value(ref["ofType"], types)
    if ref["kind"] == "LIST":
        return [_dummy_value(ref["ofType"], types)]
    named = types[ref["name"]]
    if named["kind"] == "ENUM":
        return named["enumValues"][0]["name"]
    if named["kind"] == "INPUT_OBJECT":
        return {
            field["name"]: _dummy_value(field["type"], types)
            for field in named["inputFields"]
            if _is_required(field)
        }
    if named["name"] not in DUMMY_SCALARS:
        raise AssertionError(f"no dummy value for scalar {named['name']}: add one")
    return DUMMY_SCALARS[named["name"]]


def _probe(root: str, operation: str, field: dict[str, Any], types: dict[str, Any]) -> Probe:
    required = [arg for arg in field["args"] if _is_required(arg)]
    declarations = ", ".join(f"${a['name']}: {_type_literal(a['type'])}" for a in required)
    arguments = ", ".join(f"{a['name']}: ${a['name']}" for a in required)
    returned = types[_named(field["type"])["name"]]
    selection = "" if returned["kind"] in ("SCALAR", "ENUM") else " { __typename }"
    document = (
        f"{operation} Probe{f'({declarations})' if required else ''}"
        f" {{ {field['name']}{f'({arguments})' if required else ''}{selection} }}"
    )
    variables = {a["name"]: _dummy_value(a["type"], types) for a in required}
    return Probe(root=root, field=field["name"], document=document, variables=variables)


def build_probes(schema: dict[str, Any]) -> list[Probe]:
    types = {named["name"]: named for named in schema["types"]}
    probes = []
    for operation, root in (("query", schema["queryType"]), ("mutation", schema["mutationType"])):
        if root is None:
            continue
        for field in types[root["name"]]["fields"]:
            probes.append(_probe(root["name"], operation, field, types))
    return probes


# --- the server, its keys, and the probes ------------------------------------------------


@pytest.fixture
def server(database: Database) -> Iterator[LiveServer]:
    # These tests send hundreds of refused requests from one address on purpose: a
    # throttle that never trips keeps the answers 401 (the throttle has its own tests).
    throttle = FailureThrottle(limit=1_000_000)
    app = create_app(Settings(database_url="sqlite://"), database=database, throttle=throttle)
    with LiveServer(app, name="access-control") as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def admin_key(database: Database) -> str:
    return make_key(database, "ADMIN", name="admin")


def _post(http: httpx.Client, probe: Probe, headers: dict[str, str]) -> httpx.Response:
    body = {"query": probe.document, "variables": probe.variables}
    return http.post("/graphql", json=body, headers=headers)


@pytest.fixture
def probes(http: httpx.Client, admin_key: str) -> list[Probe]:
    response = http.post(
        "/graphql", json={"query": INTROSPECTION}, headers={"X-API-Key": admin_key}
    )
    assert response.status_code == 200, response.text
    return build_probes(response.json()["data"]["__schema"])


def _revoked_key(database: Database) -> str:
    with database.scope() as session:
        created = create_api_key(session, name="revoked", scopes="ADMIN")
        revoke_api_key(session, created.api_key.id)
    return created.plaintext


def _expired_key(database: Database) -> str:
    now = utcnow()
    with database.scope() as session:
        created = create_api_key(
            session,
            name="expired",
            scopes="ADMIN",
            expires_at=now - timedelta(minutes=1),
            now=now - timedelta(days=1),
        )
    return created.plaintext


def _bad_checksum_key(database: Database) -> str:
    """A stored ADMIN key with its last checksum character changed."""
    key = make_key(database, "ADMIN", name="mistyped")
    wrong = BASE62[(BASE62.index(key[-1]) + 1) % len(BASE62)]
    return key[:-1] + wrong


CREDENTIALS = {
    "no key": lambda database: None,
    "revoked key": _revoked_key,
    "expired key": _expired_key,
    "bad checksum": _bad_checksum_key,
}


def _refusals(http: httpx.Client, probes: list[Probe], key: str) -> dict[str, list[str]]:
    """For each probe, the error codes it got on its own root field."""
    codes = {}
    for probe in probes:
        response = _post(http, probe, {"X-API-Key": key})
        assert response.status_code == 200, (probe.label, response.text)
        errors = response.json().get("errors") or []
        codes[probe.label] = [(error.get("extensions") or {}).get("code") for error in errors]
    return codes


def _forbidden(http: httpx.Client, probes: list[Probe], key: str) -> set[str]:
    return {label for label, codes in _refusals(http, probes, key).items() if "FORBIDDEN" in codes}


def _labels(probes: list[Probe], root: str) -> set[str]:
    return {probe.label for probe in probes if probe.root == root}


# --- authentication: 401 before execution ----------------------------------------------


def test_introspection_finds_every_root_field_of_the_contract(probes: list[Probe]) -> None:
    labels = {probe.label for probe in probes}
    contract = {
        "Query.printers",
        "Query.printJobs",
        "Query.printStats",
        "Query.node",
        "Query.printer",
        "Query.printJob",
        "Query.viewer",
        "Query.apiKeys",
        "Mutation.createPrinter",
        "Mutation.updatePrinter",
        "Mutation.deletePrinter",
        "Mutation.createApiKey",
        "Mutation.revokeApiKey",
        "Mutation.syncPrinters",
    }
    assert contract <= labels


@pytest.mark.parametrize("credential", list(CREDENTIALS))
def test_every_root_field_refuses_a_request_without_a_valid_key(
    credential: str, http: httpx.Client, probes: list[Probe], database: Database
) -> None:
    key = CREDENTIALS[credential](database)
    headers = {} if key is None else {"X-API-Key": key}
    answers = {}
    for probe in probes:
        response = _post(http, probe, headers)
        body = response.json()
        codes = [error["extensions"]["code"] for error in body.get("errors") or []]
        answers[probe.label] = (response.status_code, body.get("data"), codes)
    refused = (401, None, ["UNAUTHENTICATED"])
    wrong = {label: answer for label, answer in answers.items() if answer != refused}
    assert wrong == {}


def test_every_probe_is_a_valid_operation_an_admin_key_may_run(
    http: httpx.Client, probes: list[Probe], admin_key: str
) -> None:
    # Errors without a code are validation failures: a probe that does not even parse
    # would make the FORBIDDEN tests below prove nothing.
    codes = _refusals(http, probes, admin_key)
    wrong = {
        label: found
        for label, found in codes.items()
        if None in found or "FORBIDDEN" in found or "UNAUTHENTICATED" in found
    }
    assert wrong == {}


# --- authorisation: FORBIDDEN on the field ---------------------------------------------


def test_no_root_field_is_open_to_every_key(
    http: httpx.Client, probes: list[Probe], database: Database
) -> None:
    keys = [make_key(database, scopes, name=scopes) for scopes in ("READ", "WRITE", "READ WRITE")]
    refused_somewhere = set().union(*(_forbidden(http, probes, key) for key in keys))
    open_to_all = {probe.label for probe in probes} - refused_somewhere
    assert open_to_all == set()


def test_every_query_field_is_forbidden_to_a_write_only_key(
    http: httpx.Client, probes: list[Probe], database: Database
) -> None:
    queries = [probe for probe in probes if probe.root == "Query"]
    forbidden = _forbidden(http, queries, make_key(database, "WRITE", name="writer"))
    assert forbidden == _labels(queries, "Query")


def test_every_mutation_is_forbidden_to_a_read_only_key(
    http: httpx.Client, probes: list[Probe], database: Database
) -> None:
    mutations = [probe for probe in probes if probe.root == "Mutation"]
    forbidden = _forbidden(http, mutations, make_key(database, "READ", name="reader"))
    assert forbidden == _labels(mutations, "Mutation")


def test_key_management_is_forbidden_to_a_read_write_key(
    http: httpx.Client, probes: list[Probe], database: Database
) -> None:
    forbidden = _forbidden(http, probes, make_key(database, "READ WRITE", name="operator"))
    assert forbidden == KEY_MANAGEMENT


def test_each_root_field_needs_the_scope_the_contract_names(
    http: httpx.Client, probes: list[Probe], database: Database
) -> None:
    """READ for queries, WRITE for mutations, ADMIN for key management: the weakest
    single-scope key a field accepts is the scope it needs."""
    forbidden = {
        scope: _forbidden(http, probes, make_key(database, scope, name=scope))
        for scope in ("READ", "WRITE", "ADMIN")
    }
    needed = {
        probe.label: next(s for s in ("READ", "WRITE", "ADMIN") if probe.label not in forbidden[s])
        for probe in probes
        if probe.label not in forbidden["ADMIN"]
    }
    expected = {
        probe.label: "ADMIN"
        if probe.label in KEY_MANAGEMENT
        else ("READ" if probe.root == "Query" else "WRITE")
        for probe in probes
    }
    assert needed == expected


def test_the_forbidden_error_names_the_field_and_the_missing_scope(
    http: httpx.Client, database: Database
) -> None:
    key = make_key(database, "READ", name="reader")
    probe = Probe("Query", "apiKeys", "{ apiKeys { nodes { name } } }", {})
    error = _post(http, probe, {"X-API-Key": key}).json()["errors"][0]
    assert error["path"] == ["apiKeys"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert error["message"] == "this API key lacks the ADMIN scope"


# --- the start-up guard ------------------------------------------------------------------


class _NotAScope(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return True


@strawberry.type
class _Guarded:
    @strawberry.field(permission_classes=[CanRead])
    def fine(self) -> int:
        return 1


@strawberry.type
class _Leaky:
    @strawberry.field(permission_classes=[CanRead])
    def fine(self) -> int:
        return 1

    @strawberry.field
    def leak(self) -> int:
        return 1


@strawberry.type
class _WrongGuard:
    @strawberry.field(permission_classes=[_NotAScope])
    def almost(self) -> int:
        return 1


def test_a_root_field_without_a_permission_is_refused_at_start_up() -> None:
    with pytest.raises(UnguardedFieldError, match=r"^_Leaky\.leak has no scope permission"):
        assert_every_root_field_guarded((_Guarded, _Leaky))


def test_a_permission_that_is_not_a_scope_does_not_count() -> None:
    with pytest.raises(UnguardedFieldError, match=r"^_WrongGuard\.almost has no scope"):
        assert_every_root_field_guarded((_WrongGuard,))


def test_root_types_whose_fields_all_have_a_scope_pass() -> None:
    assert_every_root_field_guarded((_Guarded,))


# --- where the key may come from ---------------------------------------------------------

VIEWER = "{ viewer { name } }"


def test_a_bearer_token_is_accepted(http: httpx.Client, admin_key: str) -> None:
    response = http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": {"name": "admin"}}


@pytest.mark.parametrize("parameter", ["api_key", "key", "X-API-Key"])
def test_a_key_in_the_query_string_is_ignored(
    parameter: str, http: httpx.Client, admin_key: str
) -> None:
    response = http.post("/graphql", params={parameter: admin_key}, json={"query": VIEWER})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("cookie", ["api_key", "key", "X-API-Key"])
def test_a_key_in_a_cookie_is_ignored(cookie: str, http: httpx.Client, admin_key: str) -> None:
    response = http.post(
        "/graphql", json={"query": VIEWER}, headers={"Cookie": f"{cookie}={admin_key}"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_get_query_without_a_key_is_refused(http: httpx.Client) -> None:
    response = http.get("/graphql", params={"query": VIEWER})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_get_query_with_a_key_is_answered(http: httpx.Client, admin_key: str) -> None:
    response = http.get("/graphql", params={"query": VIEWER}, headers={"X-API-Key": admin_key})
    assert response.json()["data"] == {"viewer": {"name": "admin"}}


def test_introspection_needs_a_key(http: httpx.Client) -> None:
    response = http.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert response.status_code == 401


def test_a_401_carries_no_stack_trace(http: httpx.Client) -> None:
    response = http.post("/graphql", json={"query": VIEWER}, headers={"X-API-Key": "gqls_nope"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "invalid, revoked or expired API key",
                "extensions": {"code": "UNAUTHENTICATED"},
            },
        ],
    }
    assert "Traceback" not in response.text and 'File "' not in response.text
