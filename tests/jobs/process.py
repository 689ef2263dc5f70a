"""A whole fcops process for the durability tests: ``python -m tests.jobs.process CMD DATA_DIR``.

``start``: build the app (sandbox mode), start the job engine, queue a full account sync, print
its job ID, then keep running (the test SIGKILLs it mid-run).
``resume``: build the app again on the same data directory; DBOS recovers the unfinished
workflow; wait for the job to end and print one JSON line about it.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    command, data_dir = sys.argv[1], sys.argv[2]
    os.environ.pop("STRIPE_API_KEY", None)
    os.environ.update(
        FCOPS_DATA_DIR=data_dir,
        FCOPS_SANDBOX_CUSTOMERS=os.environ.get("FCOPS_SANDBOX_CUSTOMERS", "30"),
        FCOPS_SANDBOX_SEED="11",
        FCOPS_SANDBOX_REFRESH_DELAY="0",
    )
    import bootstrap
    from services.auth import Actor
    from services.usecases import jobs

    app = bootstrap.build_app()
    bootstrap.start_background(app)
    if command == "start":
        job_id = jobs.start_account_sync(Actor("ops", "ops"), full=True)
        print(job_id, flush=True)
        time.sleep(600)
        return
    job_id = sys.argv[3]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        view = jobs.job(job_id)
        if view is not None and view.status in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    view = jobs.job(job_id)
    assert view is not None
    print(json.dumps({"status": view.status, "result": view.result, "attempts": view.attempts}))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
