import Glibc

/// Wall-clock time in milliseconds since the Unix epoch, the unit of record timestamps.
func currentTimeMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}
