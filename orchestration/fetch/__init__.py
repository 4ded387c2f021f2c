"""Stage 1, fetch and archive: the HTTP client, the landing archive, replay."""
