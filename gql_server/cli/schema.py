"""``gql-server export-schema``: print the GraphQL SDL (schema.graphql is its output)."""

import argparse

from gql_server.cli.parser import Commands, add_command
from gql_server.config import Settings


def register(commands: Commands) -> None:
    schema = add_command(commands, "export-schema", "print the GraphQL SDL")
    schema.set_defaults(handler=export_schema)


def export_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    from gql_server.schema import schema  # the whole GraphQL layer: loaded for this command only

    print(schema.as_str())
    return 0
