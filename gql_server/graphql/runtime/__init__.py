"""How a query runs fast: everything the types need to answer a large page cheaply.

The types (graphql/types/) read as plain declarations; this package holds what makes a
fleet query (50 printers, each with its totals and a page of 20 jobs with their details
and printer) cost a handful of SQL statements and little Python per object. Follow one
such request:

1. **Request.** web/graphql_view.py builds the per-request ``Context`` (graphql/
   context.py): the caller's key, database access off the event loop, and fresh
   ``Loaders`` (graphql/loaders.py).
2. **DocumentGuard** (graphql/extensions.py). The document is parsed, checked and
   validated off the event loop, then measured against the limits (depth, aliases,
   cost). A refused document never reaches execution.
3. **Execution** (``execution.py``). The schema runs with the fast path's execution
   context: a field Strawberry would resolve with a bare ``getattr`` (planned once,
   when the schema is built) is read and completed directly, without a resolve-info
   object or Strawberry's wrappers. Every other field runs graphql-core's standard
   way. The fast path is fenced: only with the library versions in TESTED_VERSIONS,
   off with GQL_FAST_PATH=false, and counted (``fast_path_resolutions``) so tests can
   tell it is taken.
4. **Lookahead and selection** (``lookahead.py``, ``selection.py``). The root
   ``printers`` resolver looks ahead for ``jobTotals`` and reads the totals with the
   page. Each ``Printer.printJobs`` works out which columns its nodes need (from the
   field-to-column table, graphql/types/columns.py) and whether they ask for
   ``jobDetails`` or ``printer``, once per request and position in the response, not
   once per printer.
5. **Loaders, one SQL per page** (``job_pages.py``, graphql/loaders.py). Every
   printer's ``printJobs`` asks the ``jobs_page`` loader; keys that differ only by
   printer share one query: a LIMITed arm per printer reads its index in page
   order (services/index_ranges.py), the details are LEFT JOINed, and only the
   selected columns are read (services/job_queries.py). ``totalCount`` is counted
   only when asked for.
6. **Row shapes** (``row_shapes.py``). Where each field sits in the page's rows is
   worked out once per shape of row; each job and its details are built by position,
   without the dataclass ``__init__``.
7. **Objects.** The jobs carry their printer and details as plain attributes, so the
   executor reads them on the fast path; ``Printer.jobTotals`` answers synchronously
   when the totals were read with the page (``printer_totals.py``), and only awaits the
   totals loader otherwise.

bench/fleet_query.py measures the whole request against raw SQL and ``json.dumps`` of
the same data; tests/graphql/test_query_counts.py pins the statements per query.
"""
