import SocketTransport

/// The endpoint, credentials, timeouts and limits of a ``RedisClient`` or ``RedisSubscriber``.
public struct RedisConfiguration: Sendable {
    public var endpoint: Endpoint
    /// ACL user for `AUTH user password`; with only a password, `AUTH password` is sent.
    public var username: String?
    public var password: String?
    /// Database for `SELECT`. Pub/Sub ignores it; the subscriber does not send it.
    public var database: Int?
    /// Name sent with `CLIENT SETNAME`; must not contain spaces.
    public var clientName: String?

    /// Time allowed for the TCP or Unix connect.
    public var connectTimeout: Duration = .seconds(2)
    /// Time a command waits for its reply before it fails with ``RedisError/Code/timedOut`` and
    /// its connection is closed. Also bounds the AUTH, SELECT and CLIENT SETNAME handshake.
    public var commandTimeout: Duration = .seconds(5)
    /// First delay between reconnect attempts; it doubles per failure, with jitter.
    public var reconnectBackoffInitial: Duration = .milliseconds(10)
    /// Largest delay between reconnect attempts.
    public var reconnectBackoffMaximum: Duration = .seconds(1)
    /// Commands queued or in flight at most; more fail with ``RedisError/Code/queueFull``.
    public var maxPendingCommands = 10_000
    /// How long a call made while the server is unreachable waits for a connection before it
    /// fails with ``RedisError/Code/notConnected``. Zero fails it at once.
    public var maxWaitWhileDisconnected: Duration = .zero
    /// How long a client keeps checking for an awaited reply without blocking before it blocks
    /// in the kernel. Zero, the default, blocks at once.
    ///
    /// On a virtual machine, waking a vCPU that went idle can take longer than a loopback round
    /// trip, and a thread that blocks right after sending pays that wake on every round trip.
    /// Checking for up to this long keeps the CPU awake for replies that arrive soon, at the
    /// cost of up to this much CPU time per wait. It applies to ``RedisClient`` and
    /// ``RedisConnection`` while they await replies, never to a subscriber waiting for messages.
    /// Negative values count as zero and values above one millisecond as one millisecond.
    public var spinBeforeWait: Duration = .zero

    /// Subscriber: a PING is sent after this long without any bytes from the server.
    public var healthCheckInterval: Duration = .seconds(3)
    /// Subscriber: the connection is closed and reopened when that PING gets no reply in time.
    public var healthCheckTimeout: Duration = .seconds(5)
    /// Subscriber: events each ``RedisSubscription`` buffers before the subscriber stops reading
    /// from the server (see ``RedisSubscription``).
    public var subscriptionBufferCapacity = 1_024
    /// Subscriber: how long one full subscription buffer may pause reading from the server.
    /// After that, each subscription whose buffer is still full gets
    /// ``RedisSubscriptionEvent/disconnected(_:)`` with ``RedisError/Code/queueFull`` and ends,
    /// so a listener that never reads cannot hold up the others. Redis's default
    /// `client-output-buffer-limit pubsub 32mb 8mb 60` closes a subscriber that stays 8 MB behind
    /// for 60 seconds, so the default stays well below that.
    public var subscriptionStallTimeout: Duration = .seconds(10)
    /// Subscriber: channels named per SUBSCRIBE when resubscribing after a reconnect.
    public var resubscribeBatchSize = 100

    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// ``spinBeforeWait`` within zero to one millisecond.
    var boundedSpinBeforeWait: Duration {
        min(max(spinBeforeWait, .zero), .milliseconds(1))
    }

    /// Commands sent after connecting and before any other command: AUTH, SELECT, CLIENT SETNAME.
    func handshakeCommands(includeSelect: Bool) -> [[[UInt8]]] {
        var commands: [[[UInt8]]] = []
        if let password {
            if let username {
                commands.append([Array("AUTH".utf8), Array(username.utf8), Array(password.utf8)])
            } else {
                commands.append([Array("AUTH".utf8), Array(password.utf8)])
            }
        }
        if includeSelect, let database, database != 0 {
            commands.append([Array("SELECT".utf8), Array(String(database).utf8)])
        }
        if let clientName {
            commands.append([Array("CLIENT".utf8), Array("SETNAME".utf8), Array(clientName.utf8)])
        }
        return commands
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The configuration with the password replaced by `***`.
    public var description: String {
        var text = "RedisConfiguration(endpoint: \(endpoint)"
        if let username { text += ", username: \(username)" }
        if password != nil { text += ", password: ***" }
        if let database { text += ", database: \(database)" }
        if let clientName { text += ", clientName: \(clientName)" }
        text += ", commandTimeout: \(commandTimeout), maxPendingCommands: \(maxPendingCommands)"
        if spinBeforeWait != .zero { text += ", spinBeforeWait: \(spinBeforeWait)" }
        text += ")"
        return text
    }
}
