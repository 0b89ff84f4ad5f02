"""``[core] hostname_callable`` of the distributed stack: each component reports its own name as hostname.

All components run on one machine, so the real host name cannot tell two Celery workers or two triggerers
apart. With this callable the task instance's ``hostname`` (and every try's in its history) names the worker
that ran the try, and the ``job`` table's ``hostname`` names the triggerer behind each triggerer job.
"""

from __future__ import annotations

import os
import socket


def component_hostname() -> str:
    return os.environ.get("E2E_COMPONENT_HOSTNAME") or socket.getfqdn()
