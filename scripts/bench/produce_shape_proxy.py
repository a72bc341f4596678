#!/usr/bin/env python3
"""Forwarding proxy that records the shape of every Produce request a client sends.

Start the broker with its advertised listener set to the proxy's port, so that the client sends
everything through the proxy:

  tansu broker --listener-url tcp://127.0.0.1:BROKER --advertised-listener-url tcp://127.0.0.1:PROXY
  produce_shape_proxy.py --listen PROXY --broker BROKER --out shapes.jsonl

Each request becomes one JSON line with its size, API key and version. A Produce request (v3 to
v11) also lists its batches: partition, size, record count and attributes. `--summary FILE`
prints requests, mean request size, batches per request and mean batch size of such a file.
"""
import argparse
import asyncio
import json
import struct
import sys


def read_uvarint(data, offset):
    shift = 0
    value = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7


def skip_tagged_fields(data, offset):
    count, offset = read_uvarint(data, offset)
    for _ in range(count):
        _, offset = read_uvarint(data, offset)
        size, offset = read_uvarint(data, offset)
        offset += size
    return offset


def record_batches(partition, records):
    """Returns the header fields of each RecordBatch in a partition's records field."""
    batches = []
    offset = 0
    while offset + 61 <= len(records):
        (batch_length,) = struct.unpack_from(">i", records, offset + 8)
        (attributes,) = struct.unpack_from(">h", records, offset + 21)
        (count,) = struct.unpack_from(">i", records, offset + 57)
        batches.append({"partition": partition, "bytes": 12 + batch_length, "records": count,
                        "attributes": attributes})
        offset += 12 + batch_length
    return batches


def produce_batches(body, version):
    """Returns the batches of a Produce request body (header included), v3 to v11."""
    flexible = version >= 9
    offset = 8  # api key, api version, correlation id
    (client_id_length,) = struct.unpack_from(">h", body, offset)
    offset += 2 + max(client_id_length, 0)
    if flexible:
        offset = skip_tagged_fields(body, offset)
        length, offset = read_uvarint(body, offset)
        offset += max(length - 1, 0)  # transactional id
    else:
        (length,) = struct.unpack_from(">h", body, offset)
        offset += 2 + max(length, 0)
    offset += 6  # acks, timeout
    if flexible:
        topics, offset = read_uvarint(body, offset)
        topics -= 1
    else:
        (topics,) = struct.unpack_from(">i", body, offset)
        offset += 4
    batches = []
    for _ in range(topics):
        if flexible:
            length, offset = read_uvarint(body, offset)
            offset += length - 1
            partitions, offset = read_uvarint(body, offset)
            partitions -= 1
        else:
            (length,) = struct.unpack_from(">h", body, offset)
            offset += 2 + length
            (partitions,) = struct.unpack_from(">i", body, offset)
            offset += 4
        for _ in range(partitions):
            (partition,) = struct.unpack_from(">i", body, offset)
            offset += 4
            if flexible:
                length, offset = read_uvarint(body, offset)
                length -= 1
            else:
                (length,) = struct.unpack_from(">i", body, offset)
                offset += 4
            batches += record_batches(partition, body[offset:offset + max(length, 0)])
            offset += max(length, 0)
            if flexible:
                offset = skip_tagged_fields(body, offset)
        if flexible:
            offset = skip_tagged_fields(body, offset)
    return batches


async def serve(args):
    out = open(args.out, "w")

    async def handle(client_reader, client_writer):
        broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", args.broker)

        async def client_to_broker():
            try:
                while True:
                    prefix = await client_reader.readexactly(4)
                    (size,) = struct.unpack(">i", prefix)
                    body = await client_reader.readexactly(size)
                    api_key, version = struct.unpack_from(">hh", body, 0)
                    entry = {"bytes": size, "api_key": api_key, "version": version}
                    if api_key == 0 and 3 <= version <= 11:
                        try:
                            entry["batches"] = produce_batches(body, version)
                        except (struct.error, IndexError) as error:
                            entry["decode_error"] = str(error)
                    out.write(json.dumps(entry) + "\n")
                    out.flush()
                    broker_writer.write(prefix + body)
                    await broker_writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            broker_writer.close()

        async def broker_to_client():
            try:
                while data := await broker_reader.read(65536):
                    client_writer.write(data)
                    await client_writer.drain()
            except ConnectionError:
                pass
            client_writer.close()

        await asyncio.gather(client_to_broker(), broker_to_client())

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    async with server:
        await server.serve_forever()


def summary(path):
    requests = [json.loads(line) for line in open(path)]
    produce = [r for r in requests if "batches" in r and r["batches"]]
    if not produce:
        print("no Produce requests in", path)
        return
    batches = [b for r in produce for b in r["batches"]]
    print(json.dumps({
        "produce_requests": len(produce),
        "mean_request_bytes": round(sum(r["bytes"] for r in produce) / len(produce)),
        "batches_per_request": round(len(batches) / len(produce), 2),
        "mean_batch_bytes": round(sum(b["bytes"] for b in batches) / len(batches)),
        "mean_records_per_batch": round(sum(b["records"] for b in batches) / len(batches)),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=int, help="loopback port the client connects to")
    parser.add_argument("--broker", type=int, help="loopback port of the broker")
    parser.add_argument("--out", help="JSON lines file to write")
    parser.add_argument("--summary", help="print the summary of a JSON lines file and exit")
    args = parser.parse_args()
    if args.summary:
        summary(args.summary)
        return
    if args.listen is None or args.broker is None or args.out is None:
        parser.error("--listen, --broker and --out are needed unless --summary is given")
    asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
