"""Hover's default base URL, apart from the client so that the command line can name it
without importing the HTTP stack."""

DEFAULT_BASE_URL = "https://hover.to"
