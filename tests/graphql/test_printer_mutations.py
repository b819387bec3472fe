"""createPrinter, updatePrinter, deletePrinter over HTTP: userErrors, and the key kept secret."""

from typing import Any

from sqlalchemy import select

from gql_server.db.models import Printer, PrintJob
from gql_server.db.session import Database
from gql_server.services.jobs import upsert_jobs
from tests.factories import TEST_BOX, make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient

KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
OTHER_KEY = "f0e1d2c3b4a5968778695a4b3c2d1e0f"

CREATE = """
mutation ($input: CreatePrinterInput!) {
  createPrinter(input: $input) {
    printer { id name location moonrakerUrl isActive hasMoonrakerApiKey }
    userErrors { field code message }
  }
}
"""
UPDATE = """
mutation ($input: UpdatePrinterInput!) {
  updatePrinter(input: $input) {
    printer { id name location moonrakerUrl isActive hasMoonrakerApiKey }
    userErrors { field code message }
  }
}
"""
DELETE = """
mutation ($input: DeletePrinterInput!) {
  deletePrinter(input: $input) { deletedPrinterId userErrors { field code message } }
}
"""


def printers_table(database: Database) -> list[tuple[Any, ...]]:
    """Every column of every printers row: the before/after picture of a mutation."""
    with database.scope() as session:
        rows = session.execute(select(Printer.__table__).order_by(Printer.id))
        return [tuple(row) for row in rows]


def stored(database: Database, printer_id: int) -> dict[str, Any] | None:
    with database.scope() as session:
        printer = session.get(Printer, printer_id)
        if printer is None:
            return None
        return {
            "name": printer.name,
            "location": printer.location,
            "moonraker_url": printer.moonraker_url,
            "moonraker_api_key": opened(printer.moonraker_api_key),
            "is_active": printer.is_active,
        }


def opened(stored_key: str | None) -> str | None:
    """The key as it was given: it is stored encrypted with the test apps' secret."""
    return None if stored_key is None else TEST_BOX.decrypt(stored_key)


def seed_printers(database: Database) -> None:
    with database.scope() as session:
        make_printer(session, "voron", moonraker_api_key=KEY)
        make_printer(session, "prusa", location="shelf 2")


def global_ids(gql: GraphQLClient) -> dict[str, str]:
    nodes = gql.execute("{ printers(first: 100) { nodes { id name } } }")["printers"]["nodes"]
    return {node["name"]: node["id"] for node in nodes}


def database_id(gql: GraphQLClient, global_id: str) -> int:
    query = "query ($id: ID!) { printer(id: $id) { databaseId } }"
    return gql.execute(query, {"id": global_id})["printer"]["databaseId"]  # type: ignore[no-any-return]


def deleted_printer_id(gql: GraphQLClient) -> str:
    """The global id of a printer that existed and is gone."""
    created = gql.execute(CREATE, {"input": {"name": "ghost", "moonrakerUrl": "http://ghost"}})
    printer_id = created["createPrinter"]["printer"]["id"]
    gql.execute(DELETE, {"input": {"id": printer_id}})
    return printer_id  # type: ignore[no-any-return]


def outcome(payload: dict[str, Any], result_field: str) -> tuple[Any, list[tuple[str, Any]]]:
    """The payload's object and its (code, field) user errors, messages left out."""
    errors = [(error["code"], error["field"]) for error in payload["userErrors"]]
    return payload[result_field], errors


def attempt(
    gql: GraphQLClient, database: Database, mutation: str, data: dict[str, Any]
) -> tuple[Any, list[tuple[str, Any]], bool]:
    """Run a printer mutation: (its object, its (code, field) user errors, whether the
    printers table is exactly as it was before)."""
    before = printers_table(database)
    payload = next(iter(gql.execute(mutation, {"input": data}).values()))
    result_field = "deletedPrinterId" if "deletedPrinterId" in payload else "printer"
    return (*outcome(payload, result_field), printers_table(database) == before)


def new_printer(**overrides: Any) -> dict[str, Any]:
    return {"name": "newcomer", "moonrakerUrl": "http://newcomer.local:7125", **overrides}


# --- refused mutations ----------------------------------------------------------------

REFUSED_CREATES: dict[str, tuple[dict[str, Any], str, str]] = {
    "duplicate name": (new_printer(name="voron"), "DUPLICATE_NAME", "name"),
    "duplicate name in another case": (new_printer(name="VoRoN"), "DUPLICATE_NAME", "name"),
    "ftp url": (new_printer(moonrakerUrl="ftp://printer.local"), "INVALID_URL", "moonrakerUrl"),
    "no scheme": (new_printer(moonrakerUrl="printer.local:7125"), "INVALID_URL", "moonrakerUrl"),
    "no host": (new_printer(moonrakerUrl="http:///server/info"), "INVALID_URL", "moonrakerUrl"),
    "scheme alone": (new_printer(moonrakerUrl="http://"), "INVALID_URL", "moonrakerUrl"),
    "credentials": (
        new_printer(moonrakerUrl="http://admin:secret@printer.local:7125"),
        "INVALID_URL",
        "moonrakerUrl",
    ),
    "name of 101": (new_printer(name="n" * 101), "TOO_LONG", "name"),
    "location of 201": (new_printer(location="l" * 201), "TOO_LONG", "location"),
    "key of 201": (new_printer(moonrakerApiKey="k" * 201), "TOO_LONG", "moonrakerApiKey"),
    "url of 501": (
        new_printer(moonrakerUrl="http://printer.local/" + "u" * 480),
        "TOO_LONG",
        "moonrakerUrl",
    ),
    "empty name": (new_printer(name=""), "REQUIRED", "name"),
    "blank name": (new_printer(name="   "), "REQUIRED", "name"),
}
# The URLs the SSRF report showed accepted: every one is refused by the address rule.
REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://2852039166/",
    "http://0x7f.1/",
    "http://[::ffff:169.254.169.254]/",
    "http://127.0.0.1:6379",
    "http://localhost:3306",
]
REFUSED_CREATES |= {
    url: (new_printer(moonrakerUrl=url), "ADDRESS_REFUSED", "moonrakerUrl") for url in REFUSED_URLS
}


def test_refused_creates_name_the_field_and_store_nothing(
    gql: GraphQLClient, database: Database
) -> None:
    seed_printers(database)
    returned = {
        case: attempt(gql, database, CREATE, data) for case, (data, _, _) in REFUSED_CREATES.items()
    }
    assert returned == {
        case: (None, [(code, ["input", field])], True)
        for case, (_, code, field) in REFUSED_CREATES.items()
    }


def test_refused_updates_name_the_field_and_change_nothing(
    gql: GraphQLClient, database: Database
) -> None:
    seed_printers(database)
    prusa = global_ids(gql)["prusa"]
    missing = deleted_printer_id(gql)
    api_key_id = gql.execute("{ viewer { id } }")["viewer"]["id"]
    cases: dict[str, tuple[dict[str, Any], str, str]] = {
        "unknown id": ({"id": missing, "location": "moved"}, "NOT_FOUND", "id"),
        "malformed id": ({"id": "not an id", "location": "moved"}, "INVALID_ID", "id"),
        "id of an API key": ({"id": api_key_id, "location": "moved"}, "INVALID_ID", "id"),
        "duplicate name": ({"name": "voron", "location": "moved"}, "DUPLICATE_NAME", "name"),
        "duplicate name in another case": ({"name": "VORON"}, "DUPLICATE_NAME", "name"),
        "null name": ({"name": None, "location": "moved"}, "REQUIRED", "name"),
        "null url": ({"moonrakerUrl": None}, "REQUIRED", "moonrakerUrl"),
        "null isActive": ({"isActive": None}, "REQUIRED", "isActive"),
        "empty name": ({"name": "", "location": "moved"}, "REQUIRED", "name"),
        "bad url": (
            {"moonrakerUrl": "ftp://x", "location": "moved"},
            "INVALID_URL",
            "moonrakerUrl",
        ),
        "location of 201": ({"location": "l" * 201}, "TOO_LONG", "location"),
        "metadata url": (
            {"moonrakerUrl": "http://169.254.169.254", "location": "moved"},
            "ADDRESS_REFUSED",
            "moonrakerUrl",
        ),
        "key of 201": ({"moonrakerApiKey": "k" * 201}, "TOO_LONG", "moonrakerApiKey"),
    }
    returned = {
        case: attempt(gql, database, UPDATE, {"id": prusa, **data})
        for case, (data, _, _) in cases.items()
    }
    assert returned == {
        case: (None, [(code, ["input", field])], True) for case, (_, code, field) in cases.items()
    }


def test_refused_deletes_name_the_id_and_delete_nothing(
    gql: GraphQLClient, database: Database
) -> None:
    seed_printers(database)
    missing = deleted_printer_id(gql)
    api_key_id = gql.execute("{ viewer { id } }")["viewer"]["id"]
    expected = {missing: "NOT_FOUND", "not an id": "INVALID_ID", api_key_id: "INVALID_ID"}
    returned = {given: attempt(gql, database, DELETE, {"id": given}) for given in expected}
    assert returned == {
        given: (None, [(code, ["input", "id"])], True) for given, code in expected.items()
    }


# --- successful mutations -------------------------------------------------------------


def test_create_returns_the_printer_and_stores_it(gql: GraphQLClient, database: Database) -> None:
    data = {
        "name": "bambu",
        "moonrakerUrl": "https://bambu.farm.example:7130",
        "location": "rack 3",
        "moonrakerApiKey": KEY,
        "isActive": False,
    }
    printer, errors = outcome(gql.execute(CREATE, {"input": data})["createPrinter"], "printer")
    returned = {key: value for key, value in printer.items() if key != "id"}
    expected = {**data, "hasMoonrakerApiKey": True}
    del expected["moonrakerApiKey"]
    row = {
        "name": "bambu",
        "location": "rack 3",
        "moonraker_url": data["moonrakerUrl"],
        "moonraker_api_key": KEY,
        "is_active": False,
    }
    assert (returned, errors) == (expected, [])
    assert stored(database, database_id(gql, printer["id"])) == row


def test_fields_at_their_maximum_length_are_accepted(
    gql: GraphQLClient, database: Database
) -> None:
    data = new_printer(
        name="n" * 100,
        location="l" * 200,
        moonrakerApiKey="k" * 200,
        moonrakerUrl="http://printer.local/" + "u" * 479,
    )
    payload = gql.execute(CREATE, {"input": data})["createPrinter"]
    assert (payload["printer"]["name"], payload["userErrors"]) == ("n" * 100, [])


def test_update_changes_the_given_fields_and_leaves_the_others(
    gql: GraphQLClient, database: Database
) -> None:
    seed_printers(database)
    voron = global_ids(gql)["voron"]
    before = stored(database, database_id(gql, voron))
    assert before is not None
    changes = {"name": "voron-2.4", "location": "rack 1"}
    payload = gql.execute(UPDATE, {"input": {"id": voron, **changes}})["updatePrinter"]
    after = stored(database, database_id(gql, voron))
    assert (payload["printer"]["name"], payload["userErrors"]) == ("voron-2.4", [])
    assert after == {**before, **changes}


def test_renaming_a_printer_to_its_own_name_in_another_case_is_allowed(
    gql: GraphQLClient, database: Database
) -> None:
    seed_printers(database)
    voron = global_ids(gql)["voron"]
    payload = gql.execute(UPDATE, {"input": {"id": voron, "name": "Voron"}})["updatePrinter"]
    assert (payload["printer"]["name"], payload["userErrors"]) == ("Voron", [])


def test_update_with_location_null_clears_it(gql: GraphQLClient, database: Database) -> None:
    seed_printers(database)
    prusa = global_ids(gql)["prusa"]
    payload = gql.execute(UPDATE, {"input": {"id": prusa, "location": None}})["updatePrinter"]
    row = stored(database, database_id(gql, prusa))
    assert (payload["printer"]["location"], row and row["location"]) == (None, None)


def test_delete_returns_the_id_and_removes_the_printer_and_its_jobs(
    gql: GraphQLClient, database: Database
) -> None:
    with database.scope() as session:
        printer_id = make_printer(session, "voron").id
        upsert_jobs(session, printer_id, [make_job_row(i) for i in range(3)])
    voron = global_ids(gql)["voron"]
    payload = gql.execute(DELETE, {"input": {"id": voron}})["deletePrinter"]
    with database.scope() as session:
        jobs_left = session.scalars(select(PrintJob.id).where(PrintJob.printer_id == printer_id))
        remaining = (stored(database, printer_id), jobs_left.all())
    assert outcome(payload, "deletedPrinterId") == (voron, [])
    assert remaining == (None, [])


# --- the Moonraker key is write-only --------------------------------------------------


def every_printer_field(gql: GraphQLClient) -> str:
    """A selection of every field of Printer, from introspection: leaves by name, objects
    by __typename, so a field added later is covered without editing this test."""
    query = """{ __type(name: "Printer") { fields { name
        type { kind ofType { kind ofType { kind ofType { kind } } } } } } }"""
    selection = []
    for field in gql.execute(query)["__type"]["fields"]:
        kind = field["type"]
        while kind["kind"] in ("NON_NULL", "LIST"):
            kind = kind["ofType"]
        leaf = kind["kind"] in ("SCALAR", "ENUM")
        selection.append(field["name"] if leaf else f"{field['name']} {{ __typename }}")
    return " ".join(selection)


def test_no_response_includes_the_moonraker_key(gql: GraphQLClient, database: Database) -> None:
    fields = every_printer_field(gql)
    create = f"""mutation ($input: CreatePrinterInput!) {{ createPrinter(input: $input) {{
        printer {{ {fields} }} userErrors {{ field code message }} }} }}"""
    update = f"""mutation ($input: UpdatePrinterInput!) {{ updatePrinter(input: $input) {{
        printer {{ {fields} }} userErrors {{ field code message }} }} }}"""
    created = gql.post(create, {"input": new_printer(name="keyed", moonrakerApiKey=KEY)})
    printer_id = created.json()["data"]["createPrinter"]["printer"]["id"]
    with database.scope() as session:
        upsert_jobs(session, database_id(gql, printer_id), [make_job_row(1)])
    responses = [
        created,
        gql.post(create, {"input": new_printer(name="keyed", moonrakerApiKey=KEY)}),
        gql.post(update, {"input": {"id": printer_id, "moonrakerApiKey": OTHER_KEY}}),
        gql.post(update, {"input": {"id": printer_id, "name": "", "moonrakerApiKey": KEY}}),
        gql.post(f"{{ printers {{ nodes {{ {fields} }} edges {{ node {{ {fields} }} }} }} }}"),
        gql.post(f"query ($id: ID!) {{ printer(id: $id) {{ {fields} }} }}", {"id": printer_id}),
        gql.post(
            f"query ($id: ID!) {{ node(id: $id) {{ ... on Printer {{ {fields} }} }} }}",
            {"id": printer_id},
        ),
        gql.post(
            f"{{ printJobs {{ nodes {{ printer {{ {fields} }} }} }} }}",
        ),
    ]
    leaked = [
        r.text for r in responses if r.status_code != 200 or KEY in r.text or OTHER_KEY in r.text
    ]
    assert leaked == []


def test_has_moonraker_api_key_follows_what_is_stored(
    gql: GraphQLClient, database: Database
) -> None:
    created = gql.execute(CREATE, {"input": new_printer()})["createPrinter"]["printer"]
    printer_id = created["id"]

    def update(**changes: Any) -> bool:
        payload = gql.execute(UPDATE, {"input": {"id": printer_id, **changes}})["updatePrinter"]
        return payload["printer"]["hasMoonrakerApiKey"]  # type: ignore[no-any-return]

    sequence = [
        created["hasMoonrakerApiKey"],
        update(moonrakerApiKey=KEY),
        update(location="elsewhere"),  # omitted: kept
        update(moonrakerApiKey=None),  # null: cleared
    ]
    row = stored(database, database_id(gql, printer_id))
    assert (sequence, row and row["moonraker_api_key"]) == ([False, True, True, False], None)


def test_a_refused_address_names_the_setting_that_allows_it(gql: GraphQLClient) -> None:
    data = new_printer(moonrakerUrl="http://127.0.0.1:6379")
    (error,) = gql.execute(CREATE, {"input": data})["createPrinter"]["userErrors"]
    assert error["message"] == (
        "moonrakerUrl points to a loopback address, which is refused; "
        "an operator can allow its network in GQL_MOONRAKER_ALLOWED_NETWORKS"
    )


# --- a new origin clears the Moonraker key ----------------------------------------------

CLEARED = """
mutation ($input: UpdatePrinterInput!) {
  updatePrinter(input: $input) {
    printer { hasMoonrakerApiKey } moonrakerApiKeyCleared userErrors { code }
  }
}
"""


def move_voron(gql: GraphQLClient, database: Database, **changes: Any) -> tuple[Any, Any]:
    """Update the keyed printer voron (at http://voron.local:7125): (what the payload
    says, whether the key is stored afterwards)."""
    seed_printers(database)
    voron = global_ids(gql)["voron"]
    payload = gql.execute(CLEARED, {"input": {"id": voron, **changes}})["updatePrinter"]
    row = stored(database, database_id(gql, voron))
    said = (payload["moonrakerApiKeyCleared"], payload["printer"]["hasMoonrakerApiKey"])
    return said, row and row["moonraker_api_key"]


def test_moving_to_another_origin_clears_the_key_and_says_so(
    gql: GraphQLClient, database: Database
) -> None:
    moved = move_voron(gql, database, moonrakerUrl="http://attacker.example:7125")
    assert moved == ((True, False), None)


def test_moving_within_the_origin_keeps_the_key(gql: GraphQLClient, database: Database) -> None:
    moved = move_voron(gql, database, moonrakerUrl="HTTP://Voron.Local:7125/moonraker")
    assert moved == ((False, True), KEY)


def test_a_key_given_with_the_new_origin_is_stored(gql: GraphQLClient, database: Database) -> None:
    moved = move_voron(
        gql, database, moonrakerUrl="http://voron-2.local:7125", moonrakerApiKey=OTHER_KEY
    )
    assert moved == ((False, True), OTHER_KEY)


def test_create_never_says_a_key_was_cleared(gql: GraphQLClient) -> None:
    mutation = CREATE.replace("userErrors {", "moonrakerApiKeyCleared userErrors {")
    payload = gql.execute(mutation, {"input": new_printer(moonrakerApiKey=KEY)})["createPrinter"]
    assert payload["moonrakerApiKeyCleared"] is False
