"""``python -m sandbox``: serve the Stripe sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading

from sandbox.server import start_background
from sandbox.webhooks import WebhookConfigError, check_loopback_url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m sandbox", description="Offline Stripe FC/ACH sandbox"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=12111)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--customers", type=int, default=200)
    p.add_argument(
        "--refresh-delay", type=float, default=2.0, help="seconds a refresh stays pending"
    )
    p.add_argument("--refresh-cooldown", type=int, default=120, help="seconds between refreshes")
    p.add_argument("--fault-rate", type=float, default=0.0, help="share of /v1 requests that fail")
    p.add_argument("--rate-limit", type=float, default=0, help="requests per second (0 = off)")
    p.add_argument("--slow-seconds", type=float, default=3.0, help="delay of a 'slow' fault")
    p.add_argument(
        "--search-lag", type=float, default=2.0, help="seconds before a write is searchable"
    )
    p.add_argument(
        "--ach-mode",
        choices=("bank", "test"),
        default="bank",
        help="bank: debits settle or come back after banking days, like live mode (advance the "
        "clock with POST /_sandbox/clock/advance); test: after --refresh-delay, like test mode",
    )
    p.add_argument(
        "--webhook-url",
        default=None,
        help="POST every new event here, signed (loopback addresses only)",
    )
    p.add_argument(
        "--webhook-secret",
        default=None,
        help="whsec_… signing secret for --webhook-url (generated and printed when omitted)",
    )
    args = p.parse_args(argv)
    if args.webhook_secret is not None and args.webhook_url is None:
        p.error("--webhook-secret needs --webhook-url")
    if args.webhook_url is not None:
        try:
            check_loopback_url(args.webhook_url)
        except WebhookConfigError as exc:
            p.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    handle = start_background(
        host=args.host,
        port=args.port,
        seed=args.seed,
        customers=args.customers,
        refresh_delay=args.refresh_delay,
        refresh_cooldown=args.refresh_cooldown,
        fault_rate=args.fault_rate,
        rate_limit=args.rate_limit,
        slow_seconds=args.slow_seconds,
        search_lag=args.search_lag,
        ach_mode=args.ach_mode,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    if handle.webhooks is not None:
        print(f"Delivering webhooks to {handle.webhooks.url}", flush=True)
        if args.webhook_secret is None:
            print(f"Webhook signing secret: {handle.webhook_secret}", flush=True)
    print(f"Stripe sandbox ready at {handle.base_url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()


if __name__ == "__main__":
    main()
