"""The HTTP layer: the only code that talks to aiohttp's client (see :mod:`.transport`)."""
