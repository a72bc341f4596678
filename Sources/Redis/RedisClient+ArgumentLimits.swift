extension RedisClient {
    /// Maximum length of a PUBLISH channel or message: 512 MiB, the default `proto-max-bulk-len` of
    /// redis-server 7. The server replies to a longer bulk string with a protocol error and closes
    /// the connection, which fails every other command in flight on it, so the client rejects
    /// such an argument before encoding it.
    public static let maxPublishArgumentLength = 512 * 1024 * 1024

    /// Returns an ``RedisError/Code/invalidArgument`` error when the channel or message of
    /// publication `index` (nil for a single PUBLISH) exceeds ``maxPublishArgumentLength``.
    static func oversizedPublishError(channel: [UInt8], message: [UInt8], index: Int?) -> RedisError? {
        let limit = maxPublishArgumentLength
        let command = index.map { "PUBLISH \($0) of the batch" } ?? "PUBLISH"
        if channel.count > limit {
            return RedisError(
                .invalidArgument,
                "\(command) not sent: its channel is \(channel.count) bytes, over the \(limit)-byte "
                    + "maximum (redis-server's default proto-max-bulk-len); use a shorter channel")
        }
        if message.count > limit {
            return RedisError(
                .invalidArgument,
                "\(command) not sent: its message is \(message.count) bytes, over the \(limit)-byte "
                    + "maximum (redis-server's default proto-max-bulk-len); split or shrink the message")
        }
        return nil
    }
}
