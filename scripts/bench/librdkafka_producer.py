#!/usr/bin/env python3
"""Peer side of `dualstream-bench producer`: the same workload through librdkafka.

Drives confluent-kafka (which bundles librdkafka) with the settings the Swift producer uses:
acks=all, idempotence on, linger 5 ms, batch.size 1,000,000, murmur2 partitioning of the keys
(Java's rule), no compression. Prints one JSON object on standard output.

  throughput: RECORDS records of SIZE bytes over KEYS keys, all delivered before the clock stops.
  latency:    one record at a time with linger 0, each flushed before the next; p50 and p99.
"""
import argparse
import json
import os
import resource
import sys
import time

from confluent_kafka import Producer, libversion


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_producer(bootstrap, linger_ms, on_stats=None):
    extra = {}
    if on_stats is not None:
        extra = {"statistics.interval.ms": 500, "stats_cb": on_stats}
    return Producer({
        **extra,
        "bootstrap.servers": bootstrap,
        "client.id": "librdkafka-bench",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": linger_ms,
        "batch.size": 1_000_000,
        "compression.type": "none",
        "partitioner": "murmur2_random",
        "queue.buffering.max.kbytes": 32 * 1024,
        "queue.buffering.max.messages": 1_000_000,
        "message.timeout.ms": 120_000,
    })


def request_fields(stats, seconds):
    """Produce requests sent and their mean size, from librdkafka's statistics JSON."""
    requests = 0
    sent_bytes = 0
    for broker in stats.get("brokers", {}).values():
        if broker.get("nodeid", -1) < 0:
            continue  # the bootstrap connection sends no Produce requests
        requests += broker.get("req", {}).get("Produce", 0)
        sent_bytes += broker.get("txbytes", 0)
    batches = sum(topic.get("batchcnt", {}).get("cnt", 0) for topic in stats.get("topics", {}).values())
    return {
        "produce_requests": requests,
        "produce_requests_per_second": requests / seconds,
        "mean_request_bytes": sent_bytes / max(requests, 1),
        "batches_in_stats_window": batches,
    }


def throughput(args):
    latest_stats = [None]

    def on_stats(text):
        latest_stats[0] = text

    producer = make_producer(args.bootstrap, 5, on_stats)
    keys = [("key-%04d" % i).encode() for i in range(args.keys)]
    value = os.urandom(args.size)
    failures = []
    delivered = [0]

    def on_delivery(error, message):
        if error is not None:
            failures.append(str(error))
        else:
            delivered[0] += 1

    # Warm-up: connect, fetch metadata and the producer id before the clock starts.
    producer.produce(args.topic, key=keys[0], value=value, on_delivery=on_delivery)
    producer.flush(30)
    delivered[0] = 0
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    for index in range(args.records):
        while True:
            try:
                producer.produce(args.topic, key=keys[index % args.keys], value=value, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        if index % 1000 == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Statistics are emitted every 500 ms from poll; wait for one taken after the last delivery.
    latest_stats[0] = None
    deadline = time.monotonic() + 2
    while latest_stats[0] is None and time.monotonic() < deadline:
        producer.poll(0.1)
    stats = json.loads(latest_stats[0]) if latest_stats[0] else {}
    return {
        **request_fields(stats, elapsed),
        "client": "librdkafka " + libversion()[0],
        "records": args.records,
        "size": args.size,
        "delivered": delivered[0],
        "failed": len(failures) + remaining,
        "seconds": elapsed,
        "records_per_second": args.records / elapsed,
        "cpu_seconds": cpu,
        "cpu_seconds_per_million": cpu / args.records * 1_000_000,
        "peak_rss_mib": peak_kib / 1024,
    }


def latency(args):
    producer = make_producer(args.bootstrap, 0)
    value = os.urandom(args.size)
    producer.produce(args.topic, key=b"key-0000", value=value)
    producer.flush(30)
    samples = []
    for index in range(args.records):
        start = time.perf_counter()
        producer.produce(args.topic, key=("key-%04d" % (index % args.keys)).encode(), value=value)
        producer.flush(30)
        samples.append((time.perf_counter() - start) * 1_000_000)
    samples.sort()
    return {
        "client": "librdkafka " + libversion()[0],
        "records": args.records,
        "size": args.size,
        "p50_us": samples[len(samples) // 2],
        "p99_us": samples[min(len(samples) - 1, (len(samples) * 99) // 100)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["throughput", "latency"])
    parser.add_argument("--bootstrap", required=True, help="broker as host:port")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--records", type=int, default=1_000_000, help="records to send")
    parser.add_argument("--size", type=int, default=200, help="value size in bytes")
    parser.add_argument("--keys", type=int, default=1000, help="distinct keys, used round robin")
    args = parser.parse_args()
    result = throughput(args) if args.mode == "throughput" else latency(args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
