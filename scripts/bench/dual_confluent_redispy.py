#!/usr/bin/env python3
"""The dual-publishing job written with confluent-kafka (librdkafka) and redis-py.

It does what `dualstream-bench dual` does with DualPublisher: every event goes to Kafka, keyed by
its source, with its id and type in headers; each acknowledged event's notification, the same
compact JSON as DualStream's, is published to Redis on events:repo:{source} in pipelines of up to
1,000. Producer settings match DualStream's: acks=all, idempotence on, linger 5 ms.

The events are the JSON lines of --input repeated --copies times. Copy k gets the id suffix -k so
ids stay unique, and 2014 events without an id get one from the FNV-1a 64 hash of the line. The
mapping is done before the clock starts. Prints one JSON object with the events/s.
"""
import argparse
import json
import sys
import time

import redis
from confluent_kafka import Producer


def fnv1a64(data):
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "fnv1a64-%016x" % value


def load_events(path, copies):
    base = []
    with open(path, "rb") as handle:
        for line in handle.read().split(b"\n"):
            if not line.strip():
                continue
            document = json.loads(line)
            if "repo" in document:
                source = document["repo"]["name"]
                event_id = document["id"]
            else:
                source = document["repository"]["owner"] + "/" + document["repository"]["name"]
                event_id = fnv1a64(line)
            base.append((event_id, document["type"], source, line))
    events = []
    for copy in range(copies):
        for event_id, event_type, source, line in base:
            events.append((f"{event_id}-{copy}", event_type, source, line))
    return events


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--copies", type=int, default=80)
    args = parser.parse_args()

    events = load_events(args.input, args.copies)
    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "queue.buffering.max.messages": 1_000_000,
    })
    client = redis.Redis.from_url(args.redis_url)
    client.ping()
    topic = args.topic
    pending = []
    counts = {"acked": 0, "failed": 0, "sent": 0, "redis_failed": 0}

    def flush_notifications():
        if not pending:
            return
        pipe = client.pipeline(transaction=False)
        for channel, message in pending:
            pipe.publish(channel, message)
        try:
            pipe.execute()
            counts["sent"] += len(pending)
        except redis.RedisError:
            counts["redis_failed"] += len(pending)
        pending.clear()

    def delivered(error, message, event):
        if error is not None:
            counts["failed"] += 1
            return
        counts["acked"] += 1
        event_id, event_type, source = event
        notification = json.dumps({
            "id": event_id, "type": event_type, "source_type": "repo", "source_id": source,
            "topic": topic, "partition": message.partition(), "offset": message.offset(),
        }, separators=(",", ":"), ensure_ascii=False)
        pending.append(("events:repo:" + source, notification))
        if len(pending) >= 1000:
            flush_notifications()

    started = time.perf_counter()
    for event_id, event_type, source, line in events:
        while True:
            try:
                producer.produce(
                    topic, key=source.encode(), value=line,
                    headers=[("event-id", event_id.encode()), ("event-type", event_type.encode()),
                             ("source-type", b"repo")],
                    on_delivery=lambda error, message, event=(event_id, event_type, source):
                        delivered(error, message, event))
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    flush_notifications()
    elapsed = time.perf_counter() - started

    print(json.dumps({
        "client": "confluent-kafka+redis-py", "events": len(events), "acknowledged": counts["acked"],
        "failed": counts["failed"], "notifications_sent": counts["sent"],
        "notifications_failed": counts["redis_failed"], "seconds": round(elapsed, 4),
        "events_per_second": round(counts["acked"] / elapsed, 1),
    }))
    return 0 if counts["acked"] == len(events) else 1


if __name__ == "__main__":
    sys.exit(main())
