// dualstream-bench <area> [options]: runs one area's benchmark.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "redis":
    try await RedisBenchmarks.run(arguments: Array(arguments.dropFirst()))
default:
    print("usage: dualstream-bench redis [--pipelined-count N] [--sequential-count N] [--rounds N]")
}
