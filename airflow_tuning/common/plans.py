"""Logic written once for synchronous and asynchronous callers.

A *plan* is a generator that yields steps (an API call to make, a delay to sleep) and receives each step's
result, or has its error thrown in. :func:`run_plan` and :func:`arun_plan` are the only two drivers: they
differ in nothing but ``await``, so the rules inside a plan (what to ask next, which error ends it) hold for
the worker and for the triggerer alike. Pure Python.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any

Plan = Generator[Any, Any, Any]


def run_plan(plan: Plan, perform: Callable[[Any], Any]) -> Any:
    """Drive ``plan`` with ``perform(step)``; return what the plan returns."""
    try:
        step = next(plan)
        while True:
            try:
                result = perform(step)
            except Exception as err:
                step = plan.throw(err)
            else:
                step = plan.send(result)
    except StopIteration as stop:
        return stop.value


async def arun_plan(plan: Plan, perform: Callable[[Any], Awaitable[Any]]) -> Any:
    """:func:`run_plan` with an awaited ``perform``; cancellation (not an ``Exception``) is never caught."""
    try:
        step = next(plan)
        while True:
            try:
                result = await perform(step)
            except Exception as err:
                step = plan.throw(err)
            else:
                step = plan.send(result)
    except StopIteration as stop:
        return stop.value
