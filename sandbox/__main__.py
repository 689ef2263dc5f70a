"""``python -m sandbox``: serve the Stripe sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading

from sandbox.server import start_background


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
    return p.parse_args(argv)


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
    )
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
