// swift-tools-version:6.0
import PackageDescription

// Library targets import only the standard library, Synchronization and Glibc, so the
// `dualstream` binary links statically with nothing but libc. The command-line target may
// also use FoundationEssentials.
let package = Package(
    name: "DualStream",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DualStream", targets: ["DualStream"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Redis", targets: ["Redis"]),
        .library(name: "KafkaWire", targets: ["KafkaWire"]),
        .library(name: "RedisWire", targets: ["RedisWire"]),
        .executable(name: "dualstream", targets: ["DualStreamCLI"]),
        .executable(name: "dualstream-bench", targets: ["DualStreamBenchmarks"]),
    ],
    targets: [
        // Logger shaped like swift-log's, so applications can bridge it without a dependency here.
        .target(name: "DualStreamLogging"),
        // Kafka wire protocol: encoders and decoders with no I/O.
        .target(name: "KafkaWire"),
        // RESP2 encoder and incremental parser with no I/O.
        .target(name: "RedisWire"),
        // POSIX sockets, address resolution, epoll and backoff shared by both clients.
        .target(name: "SocketTransport"),
        // Kafka producer: routing, batching, acknowledgements, retries, idempotence.
        .target(name: "Kafka", dependencies: ["KafkaWire", "SocketTransport", "DualStreamLogging"]),
        // Redis client with pipelining and a resubscribing subscriber.
        .target(name: "Redis", dependencies: ["RedisWire", "SocketTransport", "DualStreamLogging"]),
        // DualPublisher: Kafka first, then a best-effort Redis notification.
        .target(name: "DualStream", dependencies: ["Kafka", "Redis", "DualStreamLogging"]),
        .executableTarget(name: "DualStreamCLI", dependencies: ["DualStream"]),
        .executableTarget(
            name: "DualStreamBenchmarks",
            dependencies: ["KafkaWire", "RedisWire", "Kafka", "Redis", "DualStream"]
        ),

        // Test support: a fake Kafka cluster that validates what Tansu does not, and helpers that
        // start real servers on free loopback ports.
        .target(name: "FakeKafka", dependencies: ["KafkaWire", "SocketTransport", "DualStreamLogging"]),
        .target(name: "TestSupport"),

        .testTarget(name: "KafkaWireTests", dependencies: ["KafkaWire", "TestSupport"]),
        .testTarget(name: "RedisWireTests", dependencies: ["RedisWire", "TestSupport"]),
        .testTarget(name: "SocketTransportTests", dependencies: ["SocketTransport", "TestSupport"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "FakeKafka", "TestSupport"]),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "TestSupport"]),
        .testTarget(name: "DualStreamTests", dependencies: ["DualStream", "FakeKafka", "TestSupport"]),
        .testTarget(name: "DualStreamCLITests", dependencies: ["TestSupport", "FakeKafka"]),
    ]
)
