"""One line per method: the blocking twin of an async client's method, typed from it.

``get_job = blocking(HoverClient.get_job)`` in a sync client class gives ``get_job(job_id)``
that returns a ``Job``: type checkers see the async method's parameters and result through
the descriptors' ``__get__``, and at run time the class holds a plain function with the async
method's name, signature (less ``self``) and docstring, so ``help()`` shows them too.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from .base import SyncClient

A = TypeVar("A")
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def _install(
    owner: type, name: str, method: Callable[..., Any], source: Callable[..., Any]
) -> None:
    method.__name__ = name
    method.__qualname__ = f"{owner.__qualname__}.{name}"
    method.__doc__ = source.__doc__
    signature = inspect.signature(source)
    if inspect.isasyncgenfunction(source):
        item = signature.return_annotation
        signature = signature.replace(
            return_annotation=str(item).replace("AsyncIterator", "Iterator")
        )
    method.__signature__ = signature  # type: ignore[attr-defined]
    setattr(owner, name, method)


class blocking(Generic[A, P, R]):
    """The blocking twin of an async method: it waits for the result on the client's loop."""

    def __init__(self, method: Callable[Concatenate[A, P], Awaitable[R]]) -> None:
        self.method = method

    def __set_name__(self, owner: type, name: str) -> None:
        method = self.method

        def call(client: SyncClient[Any], /, *args: Any, **kwargs: Any) -> Any:
            return client.run(partial(method, client.aio, *args, **kwargs))

        _install(owner, name, call, method)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> blocking[A, P, R]: ...
    @overload
    def __get__(self, obj: SyncClient[Any], owner: type[Any]) -> Callable[P, R]: ...
    def __get__(
        self, obj: SyncClient[Any] | None, owner: type[Any]
    ) -> blocking[A, P, R] | Callable[P, R]:
        raise AssertionError("replaced by a function when the class is made")  # pragma: no cover


class iterating(Generic[A, P, T]):
    """The iterator twin of an async iterator method: each item is fetched on the loop."""

    def __init__(self, method: Callable[Concatenate[A, P], AsyncIterator[T]]) -> None:
        self.method = method

    def __set_name__(self, owner: type, name: str) -> None:
        method = self.method

        def call(client: SyncClient[Any], /, *args: Any, **kwargs: Any) -> Iterator[Any]:
            return client.iterate(method(client.aio, *args, **kwargs))

        _install(owner, name, call, method)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> iterating[A, P, T]: ...
    @overload
    def __get__(self, obj: SyncClient[Any], owner: type[Any]) -> Callable[P, Iterator[T]]: ...
    def __get__(
        self, obj: SyncClient[Any] | None, owner: type[Any]
    ) -> iterating[A, P, T] | Callable[P, Iterator[T]]:
        raise AssertionError("replaced by a function when the class is made")  # pragma: no cover


class same(Generic[A, P, R]):
    """A method that does no I/O (``url_for``, ``jobs_url``): called as it is, off the loop."""

    def __init__(self, method: Callable[Concatenate[A, P], R]) -> None:
        self.method = method

    def __set_name__(self, owner: type, name: str) -> None:
        method = self.method

        def call(client: SyncClient[Any], /, *args: Any, **kwargs: Any) -> Any:
            return method(client.aio, *args, **kwargs)

        _install(owner, name, call, method)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> same[A, P, R]: ...
    @overload
    def __get__(self, obj: SyncClient[Any], owner: type[Any]) -> Callable[P, R]: ...
    def __get__(
        self, obj: SyncClient[Any] | None, owner: type[Any]
    ) -> same[A, P, R] | Callable[P, R]:
        raise AssertionError("replaced by a function when the class is made")  # pragma: no cover


def constructor(
    cls: Callable[P, Any],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, P], None]]:
    """Give a sync client's ``__init__`` the parameters of ``cls`` (type checkers and help())."""

    def decorate(init: Callable[..., None]) -> Callable[Concatenate[Any, P], None]:
        params = list(inspect.signature(cls).parameters.values())
        self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        init.__signature__ = inspect.Signature([self, *params], return_annotation=None)  # type: ignore[attr-defined]
        return init

    return decorate
