#!/usr/bin/env python3
"""Record RESP2 fixtures from redis-server, redis-py and redis-cli into Fixtures/resp.

Starts redis-server (no persistence) on free loopback ports and records its replies of every
RESP2 type from a raw socket. Then records the commands redis-py and redis-cli send, through a
recording relay. Writes every reply or command stream as NAME.bin with a NAME.json sidecar.
Nothing here uses this project's Swift code. Run: `python3 scripts/record-resp-fixtures.py`.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures import resp  # noqa: E402
from fixtures.relay import RecordingRelay  # noqa: E402
from fixtures.resp_clients import (AUTH_PASSWORD, AUTH_USER, cli_version,  # noqa: E402
                                   record_redis_cli, record_redis_py)
from fixtures.resp_replies import (record_acl_errors, record_basic_types,  # noqa: E402
                                   record_noauth, record_pubsub)
from fixtures.servers import LOOPBACK, RedisServer, free_port  # noqa: E402
from fixtures.writer import FixtureWriter  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBDIRS = ["replies", "redis-py", "redis-cli"]

README_HEAD = """# RESP2 fixtures

Byte-exact RESP2 replies from redis-server and command bytes from redis-py and redis-cli, for
parser and encoder tests. No file here comes from this project's encoder.
`scripts/record-resp-fixtures.py` writes every file in this folder, including this README. Rerun
it to refresh them:

```
python3 scripts/record-resp-fixtures.py
```

## How they were recorded

- `replies/`: redis-server {server} (started by the script on a free loopback port with
  `--save '' --appendonly no`) replying to commands the script writes to a raw socket. Each file
  contains exactly one reply. The script checks every reply against the value it expects from
  the command before writing it, and the sidecar's `expected` entry states that value. For
  errors it states the leading words, and for COMMAND INFO only the shape. `parsed` is the
  full value as read by the script's RESP reader (`scripts/fixtures/resp.py`).
- Pub/Sub replies come from two connections: a subscriber (channels `events:repo:1001` and
  `events:user:7`, pattern `events:repo:*`, shard channel `events:{{repo}}:shard`) and a
  publisher. `NOPERM` and `WRONGPASS` come from an ACL user created with `resetchannels
  &allowed:*`, and `NOAUTH` from a second server started with `--requirepass`.
- `redis-py/` and `redis-cli/`: the bytes redis-py {redis_py} and redis-cli {cli} wrote,
  captured by a relay between the client and the server. Files that name one command start at
  that command, and the commands the client sent before it on the same connection are in
  `redis-py/connect-handshake-request.bin`. With default options redis-py {redis_py} opens every
  connection with `HELLO 3` (RESP3), so the server's replies on those connections are RESP3 and
  are not stored. The pipeline and `connect-handshake-resp2-request.bin` use `protocol=2`, and
  `redis-py/pipeline-replies.bin` holds the server's RESP2 replies to that pipeline. The AUTH
  files contain the whole connection, including the throwaway test password
  `{password}` of the ACL user `{user}`.
- Each sidecar lists the command and its arguments as hex and, where printable, as text. Reply
  sidecars also list every command sent earlier on the same connection
  (`commands_sent_before_on_this_connection`), which sets the state the reply depends on.

Recorded on {date}.

## Files

"""


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "Fixtures", "resp"),
                        help="output folder (default: Fixtures/resp in this repository)")
    return parser.parse_args()


def server_version():
    output = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                            check=True).stdout
    return output.split("v=")[1].split()[0]


def run_admin(port, *arguments):
    with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
        sock.sendall(resp.encode_command(*arguments))
        _, value = resp.ReplyReader(sock).read()
    if value[0] == "error":
        raise RuntimeError(f"{arguments[:2]!r} failed: {value[1]}")


def main():
    arguments = parse_arguments()
    import redis

    writer = FixtureWriter(arguments.out, SUBDIRS, "python3 scripts/record-resp-fixtures.py")
    work_dir = tempfile.mkdtemp(prefix="resp-fixtures-")
    server = RedisServer(free_port(), os.path.join(work_dir, "redis.log"))
    locked_server = RedisServer(free_port(), os.path.join(work_dir, "redis-requirepass.log"),
                                ["--requirepass", "fixtures-requirepass"])
    relay = RecordingRelay(free_port(), server.port)
    context = {"writer": writer, "relay": relay, "relay_port": relay.listen_port,
               "redis": {"tool": "redis-server", "version": server_version()}}
    try:
        server.start()
        locked_server.start()
        relay.start()
        run_admin(server.port, "ACL", "SETUSER", AUTH_USER, "on", f">{AUTH_PASSWORD}", "~*", "&*",
                  "+@all")
        record_basic_types(context, server.port)
        record_acl_errors(context, server.port)
        record_noauth(context, locked_server.port)
        record_pubsub(context, server.port)
        record_redis_py(context)
        record_redis_cli(context)
    except BaseException:
        writer.discard()
        print(f"recording failed. The server logs are kept in {work_dir}", file=sys.stderr)
        raise
    finally:
        relay.stop()
        server.stop()
        locked_server.stop()
    shutil.rmtree(work_dir, ignore_errors=True)

    head = README_HEAD.format(server=context["redis"]["version"], redis_py=redis.__version__,
                              cli=cli_version(), password=AUTH_PASSWORD, user=AUTH_USER,
                              date=writer.date)
    writer.publish(head + writer.table() + "\n")
    print(f"wrote {len(writer.rows)} fixtures to {arguments.out}")


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"done in {time.monotonic() - start:.1f} s")
