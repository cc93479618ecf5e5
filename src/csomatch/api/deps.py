"""The dependencies handlers name, declared once (``create_app`` provides them by these names).

- ``conn``: the request's connection, handed to the use case (which never commits: the handler
  or ``idempotent`` owns the transaction);
- ``settings``: the frozen settings of the process;
- ``principal``: the authenticated caller, as the ``authorize`` guard found it.
"""

from __future__ import annotations

import asyncpg
from litestar.di import NamedDependency

from csomatch.domain import Principal
from csomatch.settings import Settings

Conn = NamedDependency[asyncpg.Connection]
Cfg = NamedDependency[Settings]
Caller = NamedDependency[Principal]
