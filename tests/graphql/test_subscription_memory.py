"""A long-lived subscription keeps no memory per event (issue 13: the server's RSS
must not grow while it streams a farm's jobs).

graphql-core 3.3 executes each event on a copy of the subscription's executor that
shares its memo of collected subfields; keyed by each event's new field lists, the memo
gained an entry per event. Our execution contexts give every event its own memo."""

from typing import Any

import pytest
from graphql import build_schema, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql_server.graphql.runtime.execution import execution_context_class

SCHEMA = build_schema(
    """
    type Printer { name: String! }
    type Job { id: ID! status: String! printer: Printer! }
    type Query { dummy: String }
    type Subscription { job: Job! }
    """
)
DOCUMENT = parse("subscription { job { id status printer { name } } }")
EVENTS = 50


def _run_events(context_class: Any) -> tuple[Any, list[Any]]:
    """The subscription's executor after EVENTS events, and what each event answered."""
    executor = context_class.build(SCHEMA, DOCUMENT)
    answers = []
    for number in range(EVENTS):
        event = {"job": {"id": str(number), "status": "completed", "printer": {"name": "p"}}}
        answers.append(executor.build_per_event_executor(event).execute_operation(False))
    return executor, answers


def _memo_entries(executor: Any) -> int:
    return len(executor._relevant_sub_fields)  # graphql-core 3.3's private memo


def test_graphql_cores_own_copy_keeps_an_entry_per_event() -> None:
    """The upstream behaviour this guards against; if graphql-core stops sharing the
    memo, this fails and the override can go."""
    executor, _ = _run_events(StrawberryGraphQLCoreExecutionContext)
    assert _memo_entries(executor) >= EVENTS


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("hide_suggestions", [True, False])
def test_our_subscriptions_keep_nothing_per_event_and_answer_alike(
    fast_path: bool, hide_suggestions: bool
) -> None:
    ours = execution_context_class(fast_path=fast_path, hide_suggestions=hide_suggestions)
    executor, answers = _run_events(ours)
    _, standard = _run_events(StrawberryGraphQLCoreExecutionContext)
    assert _memo_entries(executor) == 0
    assert [(a.data, a.errors) for a in answers] == [(s.data, s.errors) for s in standard]
    assert answers[-1].data == {
        "job": {"id": str(EVENTS - 1), "status": "completed", "printer": {"name": "p"}}
    }
