"""One module per source: how to fetch it live, and how to parse its landed bytes."""
