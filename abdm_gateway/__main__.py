"""python -m abdm_gateway --host 127.0.0.1 --port 8090 --data-dir var/abdm_gateway"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from abdm_gateway import config as gateway_config
from abdm_gateway.app import build


def main() -> None:
    parser = argparse.ArgumentParser(prog="abdm_gateway", description="The offline ABDM gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--data-dir", default="var/abdm_gateway")
    parser.add_argument(
        "--config",
        help="JSON: cmId, clients [{clientId, clientSecret, hipIds,"
        " bridgeUrl}], timings (default: ABDM_GATEWAY_CONFIG or the demo client)",
    )
    parser.add_argument("--token-ttl", type=int, help="access token lifetime, seconds")
    parser.add_argument("--retry-base-ms", type=int, help="first retry delay; doubles each time")
    parser.add_argument("--max-attempts", type=int, help="delivery attempts before giving up")
    parser.add_argument("--key-grace", type=int, help="seconds a rotated-out key stays published")
    parser.add_argument(
        "--public-url",
        help="the gateway's base URL as a HIP reaches it, for the dataPushUrl of health-"
        "information requests (default: http://HOST:PORT)",
    )
    args = parser.parse_args()
    overrides = {
        name: value
        for name, value in (
            ("token_ttl_s", args.token_ttl),
            ("retry_base_ms", args.retry_base_ms),
            ("max_attempts", args.max_attempts),
            ("key_grace_s", args.key_grace),
        )
        if value is not None
    }
    config = gateway_config.load(
        config_path=args.config, data_dir=args.data_dir, overrides=overrides
    )
    config.public_url = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    web.run_app(build(config), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
