import Glibc

/// How long a thread that awaits a reply keeps checking for it without blocking, adapted to how
/// soon replies have come.
///
/// A thread that blocks right after sending pays for its wake-up when the reply comes. That is a
/// context switch, and on a virtual machine whose idle vCPUs halt, also an exit to the hypervisor,
/// which can take longer than a loopback round trip. Checking without blocking for a short while
/// keeps the CPU busy for a reply that is about to come.
///
/// The window starts at zero and changes only after a wait that blocked:
/// - a wait that still ended within ``limit`` widens it, to `limit / 8` at first, then by
///   doubling up to ``limit``;
/// - a longer wait halves it, and below `limit / 8` it closes.
///
/// Replies that take longer than ``limit`` (a distant or busy server) thus cost no polling after
/// a few waits, and no wait polls for longer than ``limit``. A wait that ends within the window
/// leaves it as it is.
public struct SpinWindow: Sendable, Equatable {
    /// The widest the window gets. Zero turns polling off.
    public let limit: Duration
    /// How long the next wait checks without blocking.
    public private(set) var current: Duration = .zero

    /// Creates a closed window that may widen up to `limit`. With `fixed`, the window stays at
    /// `limit` whatever the waits show.
    public init(limit: Duration, fixed: Bool = false) {
        self.limit = max(limit, .zero)
        self.isFixed = fixed
        if fixed { current = self.limit }
    }

    private let isFixed: Bool

    /// Records a wait that blocked after polling for ``current`` and ended `elapsed` after it
    /// began, polling included.
    public mutating func recordBlockedWait(elapsed: Duration) {
        guard !isFixed, limit > .zero else { return }
        let narrowest = limit / 8
        if elapsed <= limit {
            current = current < narrowest ? narrowest : min(current * 2, limit)
        } else {
            current = current / 2
            if current < narrowest { current = .zero }
        }
    }

    /// Gives the CPU to another runnable thread, if there is one, between two checks.
    ///
    /// When the thread that is to reply (a server on the same machine) waits for this CPU, a
    /// poll that keeps it would delay the very reply it waits for.
    @inline(__always)
    public static func yield() {
        sched_yield()
    }
}
