"""Stage 6, publish: audit the candidate, build the report, switch the publication in as one unit."""
