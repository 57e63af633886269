"""Whoami calls made by another user of this host: ``calls_as(uid, target, *tokens)``.

The calls run in ``python -m tests.auth.as_user UID TARGET [--ca PEM] TOKEN...``, which imports
and reads everything as root, then becomes UID (its group too, with no supplementary groups)
before it opens a connection, so the daemon meets that user's socket. Each TOKEN ("-" for none)
is one call on a connection of its own; the statuses print as a JSON list.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import grpc

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths

__all__ = ["calls_as", "main"]


def calls_as(uid: int, target: str, *tokens: str | None, ca: Path | None = None) -> list[str]:
    """The status of one Whoami per token (None: no credentials), each called by ``uid``."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.auth.as_user",
            str(uid),
            target,
            *(["--ca", str(ca)] if ca else []),
            *(t or "-" for t in tokens),
        ],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=120,
        check=True,
    )
    codes: list[str] = json.loads(proc.stdout)
    return codes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("uid", type=int)
    parser.add_argument("target")
    parser.add_argument("--ca", type=Path)
    parser.add_argument("tokens", nargs="+")
    args = parser.parse_args()
    tls = grpc.ssl_channel_credentials(args.ca.read_bytes()) if args.ca else None
    os.setgroups([])
    os.setresgid(args.uid, args.uid, args.uid)
    os.setresuid(args.uid, args.uid, args.uid)
    codes = []
    for token in args.tokens:
        channel = (
            grpc.secure_channel(args.target, tls) if tls else grpc.insecure_channel(args.target)
        )
        metadata = () if token == "-" else (("authorization", f"Bearer {token}"),)
        with channel:
            try:
                pb_grpc.AdminStub(channel).Whoami(  # type: ignore[no-untyped-call]
                    pb.WhoamiRequest(), metadata=metadata, timeout=30
                )
            except grpc.RpcError as error:
                codes.append(error.code().name)
            else:
                codes.append("OK")
    print(json.dumps(codes))


if __name__ == "__main__":
    main()
