"""Statistics kept up to date by the writes: job counts and sums per printer (whole
history) and per farm day, so that ``printStats`` and ``totalCount`` cost what they
return, not what is stored.

- ``tally``: what one job adds to each level, keyed in Python (the same code for the
  import, ``gql-server rollups rebuild`` and migration 0010);
- ``maintain``: the delta of a batch of job writes, applied in the writes' transaction;
- ``rebuild``: every rollup recomputed from the jobs;
- ``reads``: statistics and counts answered from the rollups when they can be exactly;
- ``costs`` and ``cost_reads``: the same for the jobs' stored costs (services/job_costs.py).
"""
