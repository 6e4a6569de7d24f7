"""The base every provider client is built on (see :class:`.base.ApiClient`)."""
