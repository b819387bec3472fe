"""``gql-server copy``: every table of one database into another, in batches, resumable,
verified by row counts and checksums (see ``copying.copy_database``)."""
