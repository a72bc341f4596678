// dualstream-bench <area> [options]: runs one area's benchmark.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "codec":
    try await CodecBenchmarks.run(arguments: Array(arguments.dropFirst()))
case "producer":
    try await ProducerBenchmarks.run(arguments: Array(arguments.dropFirst()))
case "redis":
    try await RedisBenchmarks.run(arguments: Array(arguments.dropFirst()))
case "dual":
    try await DualBenchmarks.run(arguments: Array(arguments.dropFirst()))
default:
    print("usage: dualstream-bench codec [--iterations N]")
    print("       dualstream-bench producer [compare|swift-throughput|swift-latency|buffer-limit] [options]")
    print("       dualstream-bench redis [--pipelined-count N] [--sequential-count N] [--rounds N]")
    print("       dualstream-bench dual [compare|run] [options]")
}
