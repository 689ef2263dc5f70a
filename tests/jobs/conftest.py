"""One fcops job engine (DBOS on SQLite) and webhook endpoint for this test module's process.

DBOS is a process singleton: the fixture stops whatever engine an earlier test started in this
process and starts one on a fresh data directory and sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bootstrap
from services.adapters import jobs as engine
from services.adapters.settings import load_settings


@pytest.fixture(scope="package")
def fcops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    data = tmp_path_factory.mktemp("fcops-jobs")
    engine.shutdown()
    bootstrap._background = None
    settings = load_settings(
        {
            "FCOPS_DATA_DIR": str(data),
            "FCOPS_SANDBOX_CUSTOMERS": "12",
            "FCOPS_SANDBOX_SEED": "7",
            "FCOPS_SANDBOX_REFRESH_DELAY": "0",
            "FCOPS_STRIPE_RATE_LIMIT": "50",
        },
        secrets_path=Path(data) / "absent.toml",
    )
    app = bootstrap.build_app(settings)
    background = bootstrap.start_background(app)
    yield app, background
    engine.shutdown()
    bootstrap._background = None
    if app.sandbox is not None:
        app.sandbox.stop()
