"""A worker process: the job engine only (no pages, no webhook endpoint).

``python -m services.adapters.worker`` with the same settings as the app replicas (one
PostgreSQL in ``DATABASE_URL``, a unique ``FCOPS_EXECUTOR_ID`` kept across restarts so the
workflows it was running resume when it comes back).
"""

from __future__ import annotations

import logging
import signal
import threading


def main() -> None:  # pragma: no cover - exercised through tests.background.process
    import bootstrap

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = bootstrap.build_app()
    bootstrap.start_background(app, serve_webhooks=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logging.getLogger("fcops").info("fcops worker running (%s mode)", app.mode)
    stop.wait()


if __name__ == "__main__":  # pragma: no cover
    main()
