"""Protocol logic with no I/O: retries, URLs, error bodies, decoding, rate-limit arithmetic."""
