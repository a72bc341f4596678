import Glibc
import Synchronization

/// Readiness notifications for many descriptors: level-triggered `epoll` plus an `eventfd` that
/// `wake()` writes to, so another thread can interrupt `wait`.
///
/// Only the thread that runs the event loop calls `wait`, `register`, `modify` and `deregister`.
/// Any thread may call `wake()`, also while another calls `close()`. Call `close()` after the
/// loop has left `wait`. The descriptors are closed on deinit.
public final class Poller: @unchecked Sendable {
    /// Events to watch for on a descriptor.
    public struct Interest: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8

        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        public static let readable = Interest(rawValue: 1 << 0)
        public static let writable = Interest(rawValue: 1 << 1)
    }

    /// Readiness of one registered descriptor, identified by the token given at registration.
    public struct Event: Sendable, Hashable {
        public var token: UInt64
        /// EPOLLIN: data, a pending connection or a clean close can be read.
        public var readable: Bool
        /// EPOLLOUT: a write would not block.
        public var writable: Bool
        /// EPOLLHUP: both directions are closed; a read returns what is left and then `.closed`.
        public var hangup: Bool
        /// EPOLLERR: the socket has a pending error, which the next read or write reports.
        public var error: Bool

        public init(token: UInt64, readable: Bool, writable: Bool, hangup: Bool, error: Bool) {
            self.token = token
            self.readable = readable
            self.writable = writable
            self.hangup = hangup
            self.error = error
        }
    }

    /// Token used internally for the eventfd; `register` rejects it.
    public static let reservedToken = UInt64.max

    /// Maximum events returned by one `wait`; the rest are returned by the next call, because
    /// epoll is level-triggered.
    public static let maximumEventsPerWait = 256

    private struct Descriptors {
        var epoll: Int32
        var wakeEvent: Int32
    }

    private let descriptors: Mutex<Descriptors>
    /// True after `wake()` wrote to the eventfd and before `wait` drained it; skips redundant writes.
    private let wakePending = Atomic<Bool>(false)
    private let eventBuffer: UnsafeMutableRawPointer

    /// Creates the epoll instance (`epoll_create1(EPOLL_CLOEXEC)`) and the non-blocking eventfd.
    public init() throws(TransportError) {
        let epoll = linuxEpollCreate1(LinuxConstants.epollCloseOnExec)
        guard epoll >= 0 else {
            throw TransportError.systemCall(.pollFailed, "epoll_create1", errno: errno)
        }
        let wakeEvent = linuxEventDescriptor(
            0, LinuxConstants.eventCloseOnExec | LinuxConstants.eventNonBlocking)
        guard wakeEvent >= 0 else {
            let code = errno
            Glibc.close(epoll)
            throw TransportError.systemCall(.pollFailed, "eventfd", errno: code)
        }
        var registration = [UInt8](repeating: 0, count: EpollEventLayout.size)
        let added = registration.withUnsafeMutableBytes { buffer in
            EpollEventLayout.store(
                events: LinuxConstants.epollIn, data: Self.reservedToken, to: buffer.baseAddress!)
            return linuxEpollControl(epoll, LinuxConstants.epollAdd, wakeEvent, buffer.baseAddress)
        }
        guard added == 0 else {
            let code = errno
            Glibc.close(wakeEvent)
            Glibc.close(epoll)
            throw TransportError.systemCall(.pollFailed, "epoll_ctl(ADD) of the eventfd", errno: code)
        }
        descriptors = Mutex(Descriptors(epoll: epoll, wakeEvent: wakeEvent))
        eventBuffer = UnsafeMutableRawPointer.allocate(
            byteCount: EpollEventLayout.size * Self.maximumEventsPerWait, alignment: 8
        )
    }

    deinit {
        close()
        eventBuffer.deallocate()
    }

    /// Adds `fileDescriptor` with `interest`; events for it carry `token`.
    public func register(fileDescriptor: Int32, token: UInt64, interest: Interest) throws(TransportError) {
        try control(LinuxConstants.epollAdd, "epoll_ctl(ADD)", fileDescriptor, token, interest)
    }

    /// Replaces the token and interest of a registered descriptor.
    public func modify(fileDescriptor: Int32, token: UInt64, interest: Interest) throws(TransportError) {
        try control(LinuxConstants.epollModify, "epoll_ctl(MOD)", fileDescriptor, token, interest)
    }

    /// Removes a descriptor. Call it before closing the descriptor; errors (a descriptor that is
    /// not registered or already closed) are ignored because the kernel drops closed descriptors.
    public func deregister(fileDescriptor: Int32) {
        let epoll = descriptors.withLock { $0.epoll }
        guard epoll >= 0 else { return }
        _ = linuxEpollControl(epoll, LinuxConstants.epollDelete, fileDescriptor, nil)
    }

    /// Waits up to `timeout` (nil = forever) for events or a `wake()`, and returns the events;
    /// a wake is not an event, so a wake alone returns an empty array. EINTR restarts the wait
    /// with the time left. Throws `.closed` after `close()`.
    public func wait(timeout: Duration?) throws(TransportError) -> [Event] {
        let (epoll, wakeEvent) = descriptors.withLock { ($0.epoll, $0.wakeEvent) }
        guard epoll >= 0 else {
            throw TransportError(.closed, "epoll_wait failed: the poller is closed")
        }
        let deadline = Deadline(timeout: timeout)
        var count: Int32
        while true {
            count = linuxEpollWait(
                epoll, eventBuffer, Int32(Self.maximumEventsPerWait), deadline.pollTimeoutMilliseconds
            )
            if count >= 0 {
                break
            }
            let code = errno
            guard code == EINTR else {
                throw TransportError.systemCall(.pollFailed, "epoll_wait", errno: code)
            }
        }
        var events: [Event] = []
        events.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let (flags, token) = EpollEventLayout.load(from: eventBuffer + index * EpollEventLayout.size)
            if token == Self.reservedToken {
                drainWakeEvent(wakeEvent)
                continue
            }
            events.append(
                Event(
                    token: token,
                    readable: flags & LinuxConstants.epollIn != 0,
                    writable: flags & LinuxConstants.epollOut != 0,
                    hangup: flags & LinuxConstants.epollHangup != 0,
                    error: flags & LinuxConstants.epollError != 0
                )
            )
        }
        return events
    }

    /// Makes a current or the next `wait` return. Safe from any thread; does nothing after `close()`.
    /// A wake() made while `wait` drains the eventfd counts for that return only, so a loop must
    /// check its state again before it waits.
    public func wake() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        descriptors.withLock { current in
            guard current.wakeEvent >= 0 else { return }
            var one: UInt64 = 1
            // EAGAIN means the counter is already non-zero, which wakes `wait` just as well.
            _ = retryingInterrupts { Glibc.write(current.wakeEvent, &one, MemoryLayout<UInt64>.size) }
        }
    }

    /// Closes the epoll instance and the eventfd. Idempotent.
    public func close() {
        descriptors.withLock { current in
            if current.epoll >= 0 {
                Glibc.close(current.epoll)
                current.epoll = -1
            }
            if current.wakeEvent >= 0 {
                Glibc.close(current.wakeEvent)
                current.wakeEvent = -1
            }
        }
    }

    private func drainWakeEvent(_ wakeEvent: Int32) {
        // Cleared after the read. If it were cleared before, a wake() between the two would
        // write a value that this read consumes and leave the flag set. Every later wake() would
        // then skip its write. A wake() skipped between the read and the store counts for the
        // wait that is returning now.
        var value: UInt64 = 0
        _ = retryingInterrupts { Glibc.read(wakeEvent, &value, MemoryLayout<UInt64>.size) }
        wakePending.store(false, ordering: .releasing)
    }

    private func control(
        _ operation: Int32,
        _ name: String,
        _ fileDescriptor: Int32,
        _ token: UInt64,
        _ interest: Interest
    ) throws(TransportError) {
        guard token != Self.reservedToken else {
            throw TransportError(
                .pollFailed, "\(name) of descriptor \(fileDescriptor) failed: token \(token) is reserved")
        }
        let epoll = descriptors.withLock { $0.epoll }
        guard epoll >= 0 else {
            throw TransportError(
                .closed, "\(name) of descriptor \(fileDescriptor) failed: the poller is closed")
        }
        var flags: UInt32 = 0
        if interest.contains(.readable) {
            flags |= LinuxConstants.epollIn
        }
        if interest.contains(.writable) {
            flags |= LinuxConstants.epollOut
        }
        var registration = [UInt8](repeating: 0, count: EpollEventLayout.size)
        let result = registration.withUnsafeMutableBytes { buffer in
            EpollEventLayout.store(events: flags, data: token, to: buffer.baseAddress!)
            return linuxEpollControl(epoll, operation, fileDescriptor, buffer.baseAddress)
        }
        guard result == 0 else {
            throw TransportError.systemCall(
                .pollFailed, "\(name) of descriptor \(fileDescriptor)", errno: errno)
        }
    }
}
