"""A bound on the status requests one event loop has in flight, shared by every trigger on that loop.

A triggerer that starts (or restarts) with thousands of deferred tasks sends every first poll at once. The
shared HTTP client keeps 100 connections; httpx queues the rest inside its connection pool, which rescans
its whole queue on every connection state change: the CPU cost grows with the square of the queue, the
event loop stalls, and other triggers' polls come late. Waiting here instead (an ``asyncio.Semaphore``,
whose waiters cost nothing until their turn) keeps the pool's queue empty and the loop responsive; the
requests still go out as fast as the connections allow.
"""

from __future__ import annotations

import asyncio
import weakref

#: Below httpx's pool size (the hook keeps 100 connections), so the pool itself never queues.
MAX_POLLS_IN_FLIGHT = 64

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def poll_gate() -> asyncio.Semaphore:
    """The running loop's gate (one per loop: a semaphore must not be shared across loops)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(MAX_POLLS_IN_FLIGHT)
    return gate
