"""Command line: python -m mockapi [--host H] [--port P] [--stubs FILE] [--contracts DIR] [--openapi FILE]
[--mappings DIR] [--har FILE] [--strict] [--record-target ORIGIN]."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mockapi.replay.loading import ReplayFileError, load_replay
from mockapi.stubs import StubFileError, load_stub_file

if TYPE_CHECKING:
    from aiohttp import web

DEFAULT_STUBS = Path(__file__).with_name("stubs.yaml")
EXIT_BAD_STUBS = 2
EXIT_CANNOT_LISTEN = 3
EXIT_BAD_CONTRACTS = 4
# Handlers still running at shutdown (e.g. no_response) are cancelled after this long,
# so `docker stop` and test teardown do not wait aiohttp's default 60 s.
_SHUTDOWN_TIMEOUT_S = 2.0

log = logging.getLogger("mockapi")


class ListenError(Exception):
    """The server socket could not be bound (port taken, bad host, no permission)."""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from exc
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m mockapi", description=__doc__)
    parser.add_argument("--host", default=env.get("MOCKAPI_HOST", "127.0.0.1"), help="env MOCKAPI_HOST")
    # argparse runs `type` on string defaults too, so a bad MOCKAPI_PORT is reported properly.
    parser.add_argument("--port", type=_port, default=env.get("MOCKAPI_PORT", "8080"), help="env MOCKAPI_PORT")
    parser.add_argument(
        "--stubs",
        type=Path,
        default=Path(env.get("MOCKAPI_STUBS", DEFAULT_STUBS)),
        help="YAML/JSON stubs file (env MOCKAPI_STUBS; default: the bundled stubs.yaml)",
    )
    parser.add_argument(
        "--contracts",
        type=Path,
        default=Path(env["MOCKAPI_CONTRACTS"]) if env.get("MOCKAPI_CONTRACTS") else None,
        help="folder of OpenAPI documents: each journaled request that hits one of their operations is "
             "checked, the verdict kept in its journal entry (env MOCKAPI_CONTRACTS; default: none)",
    )
    parser.add_argument(
        "--openapi",
        type=Path,
        default=None,
        help="OpenAPI document: a request no stub matches is answered from its examples "
             "(Prefer: code=409, example=name chooses)",
    )
    parser.add_argument("--mappings", type=Path, action="append",
                        default=[Path(p) for p in env.get("MOCKAPI_MAPPINGS", "").split(os.pathsep) if p],
                        help="a folder of WireMock mappings (mappings/*.json, __files/), repeatable "
                             f"(env MOCKAPI_MAPPINGS, {os.pathsep!r}-separated)")
    parser.add_argument("--har", type=Path, action="append",
                        default=[Path(p) for p in env.get("MOCKAPI_HAR", "").split(os.pathsep) if p],
                        help="a HAR 1.2 file to replay, repeatable (env MOCKAPI_HAR)")
    parser.add_argument("--strict", action="store_true", default=env.get("MOCKAPI_STRICT", "") in ("1", "true"),
                        help="an unmatched request answers 404 with the closest mappings and what differed "
                             "(env MOCKAPI_STRICT=1)")
    parser.add_argument("--record-target", action="append",
                        default=[t.strip() for t in env.get("MOCKAPI_RECORD_TARGETS", "").split(",") if t.strip()],
                        help="an origin a recording may proxy to (scheme://host[:port], :* for any port), "
                             "repeatable (env MOCKAPI_RECORD_TARGETS, comma-separated)")
    return parser.parse_args(argv)


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM. Raises ListenError if the address cannot be bound."""
    from aiohttp import web

    runner = web.AppRunner(app, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else str(exc)
            raise ListenError(f"cannot listen on {host}:{port}: {reason}") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # As PID 1 in a container, SIGTERM would otherwise be ignored and `docker stop`
        # would hang until it resorts to SIGKILL.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("mockapi listening on http://%s:%d", host, port)
        await stop.wait()
        log.info("mockapi shutting down")
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        stubs = load_stub_file(args.stubs)
    except StubFileError as exc:
        print(f"mockapi: bad stubs file {exc}", file=sys.stderr)
        return EXIT_BAD_STUBS
    log.info("loaded %d stubs from %s", len(stubs), args.stubs)
    contracts = None
    if args.contracts is not None:
        from mockapi.contract import ContractError
        from mockapi.contract_journal import ContractChecker

        try:
            contracts = ContractChecker.from_dir(args.contracts)
        except ContractError as exc:
            print(f"mockapi: bad --contracts: {exc}", file=sys.stderr)
            return EXIT_BAD_CONTRACTS
        log.info("checking requests against %d OpenAPI document(s) in %s", len(contracts.documents), args.contracts)
    examples = None
    if args.openapi is not None:
        from mockapi.contract import ContractError, load
        from mockapi.openapi_examples import ExamplesResponder

        try:
            examples = ExamplesResponder(load(args.openapi))
        except ContractError as exc:
            print(f"mockapi: bad --openapi: {exc}", file=sys.stderr)
            return EXIT_BAD_CONTRACTS
    try:
        mappings = load_replay(args.mappings, args.har)
    except ReplayFileError as exc:
        print(f"mockapi: bad mappings: {exc}", file=sys.stderr)
        return EXIT_BAD_STUBS
    if mappings:
        log.info("loaded %d mappings from %s", len(mappings), ", ".join(map(str, [*args.mappings, *args.har])))
    # aiohttp only now: a bad stubs file is reported without its ~0.4 s of imports.
    from mockapi.app import create_app

    app = create_app(stubs, contracts=contracts, examples=examples, mappings=mappings, strict=args.strict,
                     record_targets=tuple(args.record_target))
    try:
        asyncio.run(serve(app, args.host, args.port))
    except ListenError as exc:
        print(f"mockapi: {exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    return 0


if __name__ == "__main__":
    sys.exit(main())
