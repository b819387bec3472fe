"""``python -m gql_server.cli``, the same as the ``gql-server`` script."""

import sys

from gql_server.cli import main

sys.exit(main())
