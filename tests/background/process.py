"""A whole fcops process for the durability tests: ``python -m tests.background.process CMD DATA_DIR``.

``start``: build the app (sandbox mode), start the job engine, queue a full account sync, print
its job ID, then keep running (the test SIGKILLs it mid-run).
``worker``: the same without starting anything: a second worker serving the shared queues. A
line ``start`` on its stdin makes it start the same full account sync and print that job's ID
(two processes starting one job).
``serve SECRET``: an app replica's webhook endpoint (and job engine) that verifies with SECRET
(as two replicas share ``STRIPE_WEBHOOK_SECRET`` in test and live mode); it mirrors the
accounts first unless another process did, then prints its endpoint's URL.
``resume JOB_ID``: build the app again; DBOS recovers this executor's unfinished workflows; wait
for the job to end and print one JSON line about it.

The store and DBOS live where the environment says (DATABASE_URL, FCOPS_DBOS_SCHEMA,
FCOPS_EXECUTOR_ID); each process has its own sandbox, seeded alike, so they hold the same world.
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
    background = bootstrap.start_background(app)
    if command == "serve":
        from services.usecases import sync_accounts

        if sync_accounts.needs_first_sync(app.services, Actor("ops", "ops")):
            sync_accounts.sync_accounts(app.services, Actor("ops", "ops"), full=True)
        background.secret = sys.argv[3]  # the endpoint reads it at every request
        print(background.webhook_url, flush=True)
        time.sleep(600)
        return
    if command in ("start", "worker"):
        if command == "start":
            print(jobs.start_account_sync(Actor("ops", "ops"), full=True), flush=True)
        else:
            print("ready", flush=True)
            if sys.stdin.readline().strip() == "start":
                print(jobs.start_account_sync(Actor("ops", "ops"), full=True), flush=True)
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
