"""Test support shared by the test suite and bench/: the fake Moonraker, servers on
127.0.0.1, the SQL statement counter and the hostile GraphQL documents.

Nothing here imports the rest of tests/, so bench/ scripts can use it without pulling in
test modules or conftest fixtures.
"""
