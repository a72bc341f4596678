#!/usr/bin/env python3
"""Record Kafka wire fixtures from independent implementations into Fixtures/kafka.

Starts a recording relay and a Tansu broker (memory storage) on free loopback ports. Runs
kafka-python and confluent-kafka (librdkafka) producers through the relay and sends hand-written
requests at further API versions from a raw socket. Writes every frame as NAME.bin with a
NAME.json sidecar. Also writes published test vectors (record batch, varint, CRC-32C, murmur2).
Nothing here uses this project's Swift code. Run from anywhere: `python3 scripts/record-kafka-fixtures.py`.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures.kafka_clients import record_kafka_python, record_librdkafka  # noqa: E402
from fixtures.kafka_mock import record_librdkafka_mock  # noqa: E402
from fixtures.kafka_raw import record_hand_written  # noqa: E402
from fixtures.kafka_vectors import write_vectors  # noqa: E402
from fixtures.relay import RecordingRelay  # noqa: E402
from fixtures.servers import TansuBroker, free_port, tansu_version  # noqa: E402
from fixtures.writer import FixtureWriter  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBDIRS = ["kafka-python", "librdkafka", "tansu", "librdkafka-mock", "vectors"]
CLUSTER_ID = "dualstream-fixtures"

README_HEAD = """# Kafka wire fixtures

Byte-exact Kafka frames recorded from independent implementations, for decoder and encoder tests.
No file here comes from this project's encoder. `scripts/record-kafka-fixtures.py` writes every
file in this folder, including this README. Rerun it to refresh them:

```
python3 scripts/record-kafka-fixtures.py
```

## How they were recorded

- The script starts a recording relay on a free loopback port and a Tansu broker ({tansu},
  memory storage, cluster id `{cluster_id}`) on another, advertising the relay's port
  (`--advertised-listener-url tcp://127.0.0.1:RELAYPORT`), so clients keep talking through the
  relay after reading Metadata. The relay copies bytes unchanged and the script splits each direction
  into size-prefixed frames.
- `kafka-python/` and `librdkafka/`: requests as the clients sent them (kafka-python {kafka_python},
  confluent-kafka {confluent} with librdkafka {librdkafka}) and Tansu's responses to them. Client
  ids, keys, values, headers, partitions and timestamps are fixed by the script. `session.json`
  in each folder lists every request the client sent, with API key, version and correlation id.
  The `*-no-idempotence` produce files come from a second producer with idempotence off.
- `tansu/`: Tansu's responses to **hand-written requests** sent from a raw Python socket straight
  to the broker port. The request frames are written field by field with `struct` in
  `scripts/fixtures/kafka_wire.py`, and the record batches inside hand-written Produce requests are
  built by kafka-python's `DefaultRecordBatchBuilder`. Each request frame is stored next to its
  response.
- `librdkafka-mock/`: responses of librdkafka's built-in mock cluster (librdkafka {librdkafka},
  started in-process by confluent-kafka with `test.mock.num.brokers=1` on a loopback port it
  picks) to the same kind of hand-written requests. This is the source of the Produce
  UNKNOWN_TOPIC_OR_PARTITION (3) responses, which Tansu 0.6.0 did not send. The mock supports
  ApiVersions up to v2 and refuses v3 with a 21-byte response that mixes v0 and compact
  encodings. kafka-python cannot decode it, so its sidecar spells out the bytes, decoded by hand.
- `vectors/`: published test vectors. `sarama-uncompressed-batch.bin` is written by the script
  from the RecordBatch v2 field table with the values of the "uncompressed record" case in
  IBM/sarama `record_test.go`. Its CRC is computed with kafka-python's CRC-32C and checked against
  the published `54 79 61 FD`. The "empty record" and "control batch" cases of the same file are
  written the same way. `apiversions-v0-unsupported-version-refusal.bin` is written by hand from
  the ApiVersionsResponse v0 schema. The JSON files list varint, CRC-32C and murmur2 vectors, and
  the script checks each against kafka-python's implementation before writing it.

## Sidecars

Every `NAME.bin` has a `NAME.json` stating what is known without this project's decoder. That is
the direction, producing tool and version, API key and version, correlation id and client id.
It also lists the inputs the script used (topic, partition count, records, acks, timeout,
transactional id) and, for responses, the expected facts (topic, partition count, and the error
code Apache Kafka would send as `kafka_expected_error_code`). The `decoded` entry is
kafka-python's decoding of the same bytes and is labelled as such. Where kafka-python
could not decode a frame, `decoded.error` contains its error message.

## Values that differ between runs

- The broker port in Metadata responses is the relay's port of that run, given in each sidecar
  as `advertised_port`.
- Topic ids (Metadata v10 and later) are generated by Tansu per run.
- Tansu lists the ApiKeys entries of an ApiVersions response in a different order in every
  process, so the same request gets differently ordered bytes after each restart.
- The mock cluster's port and cluster id are random per run.
- Producer ids and offsets come from Tansu and depend on the order of requests within one run.
- Client Produce requests carry the same record batches in every run, but kafka-python orders
  the partitions of one request differently from run to run, and librdkafka's correlation ids
  and per-partition request order vary. The other request files were identical in three runs.

## Tansu 0.6.0 behaviour that differs from Apache Kafka

Seen in the recordings above. Each response sidecar lists the error codes kafka-python decoded
(`decoded.error_codes_seen`) and whether they match the code Kafka would send
(`decoded.matches_kafka_expected_error_code`).

- Produce to a topic or partition that does not exist succeeds with error 0, so Tansu gives no
  UNKNOWN_TOPIC_OR_PARTITION (3) Produce response. Metadata with `AllowAutoTopicCreation` false
  does return error 3 for a missing topic (`tansu/metadata-v*-missing-topic-response.bin`).
  Metadata v1 to v3 have no such flag, and a v1 request for a missing topic created it.
- ApiVersions at a version above 4 is answered with error 0 and the full list in the v3 layout,
  not with the v0-encoded UNSUPPORTED_VERSION refusal. With an empty body Tansu closes the
  connection. `vectors/apiversions-v0-unsupported-version-refusal.bin` is the Kafka refusal written
  by hand from the schema.
- InitProducerId v0 to v2 with a null transactional id returns error -1 (UNKNOWN_SERVER_ERROR).
  Versions 3 to 5 return a producer id.

Recorded on {date}.

"""


def versions_used(out_dir):
    """Return a Markdown section listing the API versions each client sent, from session.json."""
    lines = ["## API versions the clients sent", ""]
    for folder in ("kafka-python", "librdkafka"):
        with open(os.path.join(out_dir, folder, "session.json")) as source:
            session = json.load(source)
        seen = []
        for request in session["requests"]:
            entry = f"{request['api_name']} v{request['api_version']}"
            if entry not in seen:
                seen.append(entry)
        producer = session["producer"]
        lines.append(f"- {producer['tool']} {producer['version']}: " + ", ".join(seen)
                     + "\n  (ApiKey71 is GetTelemetrySubscriptions)" * ("ApiKey71 v0" in seen))
    return "\n".join(lines) + "\n"


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "Fixtures", "kafka"),
                        help="output folder (default: Fixtures/kafka in this repository)")
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    import confluent_kafka
    import kafka

    command = "python3 scripts/record-kafka-fixtures.py"
    writer = FixtureWriter(arguments.out, SUBDIRS, command)
    work_dir = tempfile.mkdtemp(prefix="kafka-fixtures-")
    relay_port = free_port()
    broker_port = free_port()
    relay = RecordingRelay(relay_port, broker_port)
    broker = TansuBroker(broker_port, relay_port, CLUSTER_ID, os.path.join(work_dir, "tansu.log"))
    context = {
        "writer": writer,
        "relay": relay,
        "broker": broker,
        "relay_port": relay_port,
        "broker_port": broker_port,
        "tansu": {"tool": "tansu", "version": tansu_version().split()[-1]},
        "cluster_id": CLUSTER_ID,
    }
    try:
        relay.start()
        broker.start()
        record_kafka_python(context)
        record_librdkafka(context)
        record_hand_written(context)
        record_librdkafka_mock(context)
        write_vectors(writer)
    except BaseException:
        writer.discard()
        print(f"recording failed. The Tansu log is kept at {work_dir}/tansu.log", file=sys.stderr)
        raise
    finally:
        relay.stop()
        broker.stop()
    shutil.rmtree(work_dir, ignore_errors=True)

    head = README_HEAD.format(
        tansu=tansu_version(), cluster_id=CLUSTER_ID, kafka_python=kafka.__version__,
        confluent=confluent_kafka.version(), librdkafka=confluent_kafka.libversion()[0],
        date=writer.date)
    writer.publish(head + versions_used(writer.root) + "\n## Files\n\n" + writer.table() + "\n")
    print(f"wrote {len(writer.rows)} fixtures to {arguments.out}")


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"done in {time.monotonic() - start:.1f} s")
