// dualstream-bench <area> [options]: runs one area's benchmark side by side with its peer.
let arguments = Array(CommandLine.arguments.dropFirst())
let options = Array(arguments.dropFirst())
switch arguments.first {
case "codec":
    try await CodecBenchmarks.run(arguments: options)
case "redis":
    try await RedisBenchmarks.run(arguments: options)
case "producer":
    try await ProducerBenchmarks.run(arguments: options)
case "dual":
    try await DualBenchmarks.run(arguments: options)
default:
    print("usage: dualstream-bench codec [--iterations N]")
    print("       dualstream-bench redis [--pipelined-count N] [--sequential-count N] [--rounds N]")
    print("       dualstream-bench producer [compare|swift-throughput|swift-latency|buffer-limit] [options]")
    print("       dualstream-bench dual [compare|run] [options]")
}
