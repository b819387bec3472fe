"""Documents built to hang or slow a GraphQL server, each with the error code it must get.

Shared by tests/graphql/test_hostile_documents.py, which asserts the codes and /healthz
latency under attack, and bench/hostile_documents.py, which prints that latency.
"""

from dataclasses import dataclass


def doubling_chain(length: int, base: str, *, on: str = "Query", inline: bool = False) -> str:
    """Fragment N spreads fragment N-1 twice: 2**(length-1) copies of ``base`` if
    expanded. ``inline`` puts each spread inside an inline fragment."""
    fragments = [f"fragment F0 on {on} {{ {base} }}"]
    for n in range(1, length):
        previous = f"...F{n - 1}"
        body = (
            f"... {{ {previous} }} ... on {on} {{ {previous} }}"
            if inline
            else f"{previous} {previous}"
        )
        fragments.append(f"fragment F{n} on {on} {{ {body} }}")
    operation = "mutation" if on == "Mutation" else "query"
    return f"{operation} {{ ...F{length - 1} }} " + " ".join(fragments)


SYNC = "syncPrinters(input: {}) { results { ok } }"
# Validation compares every pair of same-named fields: the slowest documents within the
# token limit that are still valid (accepted) or not (refused by validation).
WORST_ACCEPTED = "{ " + "viewer { name } " * 150 + "}"
WORST_REFUSED = "{ viewer { " + "n: name n: keyPrefix " * 160 + "} }"


@dataclass(frozen=True)
class Attack:
    document: str
    code: str | None  # None: answered with data


ATTACKS = {
    "self-cycle": Attack("query { ...A } fragment A on Query { ...A ...A }", "FRAGMENT_CYCLE"),
    "cycle through inline fragments": Attack(
        "query { ...A } fragment A on Query { ... { ...B } } "
        "fragment B on Query { viewer { name } ... on Query { ...A } }",
        "FRAGMENT_CYCLE",
    ),
    "cycle in a mutation": Attack(
        f"mutation {{ ...M }} fragment M on Mutation {{ {SYNC} ...M ...M }}", "FRAGMENT_CYCLE"
    ),
    "doubling chain": Attack(doubling_chain(21, "viewer { name }"), "QUERY_TOO_COMPLEX"),
    "doubling chain through inline fragments": Attack(
        doubling_chain(21, "viewer { name }", inline=True), "QUERY_TOO_COMPLEX"
    ),
    # syncPrinters' results are a list charged as MAX_LIST_ITEMS objects.
    "doubling chain in a mutation": Attack(
        doubling_chain(21, SYNC, on="Mutation"), "TOO_MANY_NODES"
    ),
    "60 KB of comments": Attack("#\n" * 20_000 + "{ viewer { name } }", "TOO_MANY_TOKENS"),
    "worst accepted": Attack(WORST_ACCEPTED, None),
    "worst refused": Attack(WORST_REFUSED, "GRAPHQL_VALIDATION_FAILED"),
}
