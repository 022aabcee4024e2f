"""``python -m amanah.demo_shop [--host H] [--port P]`` (configuration from the environment)."""

from __future__ import annotations

import argparse

from amanah.demo_shop.app import ShopConfig, run

parser = argparse.ArgumentParser(prog="python -m amanah.demo_shop", description="The Demo Bazaar shop.")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8001)
arguments = parser.parse_args()
run(ShopConfig.from_environment(), host=arguments.host, port=arguments.port)
