import Glibc

// dualstream-bench <area> [options]: runs one area's benchmark side by side with its peer.
//
// The file has no top-level `await`, so the main thread never enters dispatch_main. Valgrind
// 3.19 crashes with an internal SIGSEGV in a Swift async main, and the benchmarks are profiled
// with callgrind. The benchmark runs in a detached task while the main thread waits.
let arguments = Array(CommandLine.arguments.dropFirst())
let options = Array(arguments.dropFirst())

func runToExit(_ body: @escaping @Sendable () async throws -> Void) -> Never {
    Task.detached {
        do {
            try await body()
            exit(0)
        } catch {
            let message = "dualstream-bench: \(error)\n"
            _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            exit(1)
        }
    }
    while true {
        pause()
    }
}

switch arguments.first {
case "codec":
    runToExit { try await CodecBenchmarks.run(arguments: options) }
case "redis":
    runToExit { try await RedisBenchmarks.run(arguments: options) }
case "producer":
    runToExit { try await ProducerBenchmarks.run(arguments: options) }
case "dual":
    runToExit { try await DualBenchmarks.run(arguments: options) }
default:
    print("usage: dualstream-bench codec [--iterations N]")
    print("       dualstream-bench redis [--pipelined-count N] [--sequential-count N] [--rounds N]")
    print("       dualstream-bench producer [compare|swift-throughput|swift-latency|buffer-limit] [options]")
    print("       dualstream-bench dual [compare|run] [options]")
}
