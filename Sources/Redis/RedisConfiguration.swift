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
    /// fails with ``RedisError/Code/notConnected``, or with ``RedisError/Code/authenticationFailed``
    /// when the server rejected AUTH. Zero fails it at once.
    ///
    /// A call made before any attempt failed, such as the first call on a new client, waits for
    /// the connect attempt under way (at most ``connectTimeout``, plus ``commandTimeout`` for the
    /// handshake). If that attempt fails, the call waits for later attempts only until this long
    /// after it was made, and fails at once when that time has passed. A call sent on a
    /// connection in time waits for its reply until ``commandTimeout`` after it was made.
    ///
    /// NOTE: a connect attempt keeps the I/O thread of a client or subscriber for up to
    /// ``connectTimeout``, so a call whose wait ends during an attempt fails only when the attempt
    /// ends. Set ``connectTimeout`` no longer than this wait when calls must never wait longer.
    public var maxWaitWhileDisconnected: Duration = .zero
    /// The maximum time a client keeps checking for an awaited reply without blocking before it
    /// blocks in the kernel. Zero blocks at once.
    ///
    /// On a virtual machine, waking a vCPU that went idle can take longer than a loopback round
    /// trip, and a thread that blocks right after sending pays that wake on every round trip.
    /// Checking for a short while keeps the CPU awake for replies that arrive soon. The time
    /// checked adapts to the replies seen (see `SpinWindow`): it grows while blocking waits end
    /// within this limit and closes when replies take longer, so a distant or slow server costs
    /// no polling. Between checks the thread yields its CPU to any other runnable thread.
    ///
    /// The cost is CPU time: up to this long per wait, while replies keep coming within it. It
    /// applies to ``RedisConnection`` while it awaits a reply, and to ``RedisClient`` while it
    /// awaits the handshake or replies to commands sent by tasks on its ``RedisClient/executor``.
    /// A task on another executor is resumed on another thread, which pays a wake-up anyway. On
    /// a two-core VM, spinning for such tasks' replies cost throughput and CPU time. It never
    /// applies to an idle client or to a subscriber waiting for messages. Negative values count
    /// as zero and values above one millisecond as one millisecond.
    public var spinBeforeWait: Duration = Self.defaultSpinBeforeWait
    static let defaultSpinBeforeWait: Duration = .microseconds(100)
    /// Polls for the whole ``spinBeforeWait`` on every wait that polls instead of adapting, for
    /// tests that exercise the polling path.
    var spinsFixed = false

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

    /// Creates a closed window that widens up to ``boundedSpinBeforeWait``.
    func makeSpinWindow() -> SpinWindow {
        SpinWindow(limit: boundedSpinBeforeWait, fixed: spinsFixed)
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
        if spinBeforeWait != Self.defaultSpinBeforeWait { text += ", spinBeforeWait: \(spinBeforeWait)" }
        text += ")"
        return text
    }
}
