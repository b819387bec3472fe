"""What an object whose ``printJobs`` field pages its own jobs provides.

Every ``printJobs`` field (Query's, Printer's, PrintFile's) has the one resolver
``types/printer.py::resolve_print_jobs``, so that their arguments are declared once;
the resolver asks a ``JobOwner`` root for its page.
"""

from gql_server.graphql.context import Info
from gql_server.graphql.runtime.selection import JobPageRequest
from gql_server.graphql.types.connection import Connection
from gql_server.graphql.types.print_job import PrintJob


class JobOwner:
    """Printer and PrintFile: each reads its jobs through its own loader."""

    async def own_jobs(self, info: Info, request: JobPageRequest) -> Connection[PrintJob]:
        raise NotImplementedError
