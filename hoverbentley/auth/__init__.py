"""Credentials: static bearer tokens, tokens renewed before they expire, and token stores
that processes on one machine or many share safely."""

from .file_store import JsonFileTokenStore
from .object_store import ObjectTokenStore
from .token_store import MemoryTokenStore, StoredTokens, TokenStore, TokenStoreError
from .tokens import AccessToken, RenewingAuth, StaticToken, request_token

__all__ = [
    "AccessToken",
    "JsonFileTokenStore",
    "MemoryTokenStore",
    "ObjectTokenStore",
    "RenewingAuth",
    "StaticToken",
    "StoredTokens",
    "TokenStore",
    "TokenStoreError",
    "request_token",
]
