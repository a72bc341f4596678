import Glibc
import Synchronization

/// Runs ``NameResolver`` lookups on a few background threads, so the event loop that submits them
/// does not wait for a name server.
///
/// The loop calls ``submit(host:port:)``, and each finished lookup calls `onCompletion` (for
/// example `Poller.wake`), after which ``takeCompleted()`` returns the result. Threads start on
/// the first lookup, up to `maximumThreads`; further lookups queue. The pool enforces no timeout,
/// because `getaddrinfo` cannot be interrupted: the caller gives up on its own deadline and calls
/// ``cancel(_:)``.
///
/// ``shutdown()`` drops queued and finished lookups and ends idle threads at once. A thread
/// inside a lookup ends when that lookup returns and its result is discarded. Each thread
/// retains the pool, so the pool is freed once the last thread ended.
public final class ResolverPool: @unchecked Sendable {
    /// The result of one lookup, matched to its request by `ticket`.
    public struct Completion: Sendable {
        public let ticket: UInt64
        public let host: String
        public let port: Int
        public let result: Result<[SocketAddress], TransportError>
    }

    private struct Job {
        var ticket: UInt64
        var host: String
        var port: Int
    }

    private let resolver: NameResolver
    private let maximumThreads: Int
    private let threadName: String
    private let onCompletion: @Sendable () -> Void
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// True while `completed` may be non-empty, so ``takeCompleted()`` skips the lock when an
    /// event loop calls it on every turn.
    private let hasCompleted = Atomic<Bool>(false)
    // The fields below are guarded by `mutex`.
    private var queue: [Job] = []
    private var completed: [Completion] = []
    /// Tickets of the lookups that threads are running now, and those of them cancelled.
    private var running = Set<UInt64>()
    private var cancelled = Set<UInt64>()
    private var threads = 0
    private var idleThreads = 0
    private var stopped = false
    private var nextTicket: UInt64 = 1

    /// Creates a pool that starts no thread until the first lookup. `threadName` (at most 15
    /// bytes on Linux) is shown in /proc/PID/task/TID/comm. `onCompletion` runs on a pool thread,
    /// with the pool's lock held, so it must not call back into the pool.
    public init(
        resolver: NameResolver, maximumThreads: Int = 2, threadName: String = "resolver",
        onCompletion: @escaping @Sendable () -> Void
    ) {
        self.resolver = resolver
        self.maximumThreads = max(1, maximumThreads)
        self.threadName = threadName
        self.onCompletion = onCompletion
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Queues a lookup of `host` and returns its ticket. After ``shutdown()`` nothing is queued,
    /// and the ticket never completes.
    public func submit(host: String, port: Int) -> UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let ticket = nextTicket
        nextTicket += 1
        guard !stopped else { return ticket }
        queue.append(Job(ticket: ticket, host: host, port: port))
        if idleThreads > 0 {
            pthread_cond_signal(condition)
        } else if threads < maximumThreads {
            startThread(failing: ticket)
        }
        return ticket
    }

    /// Removes and returns the lookups that finished since the last call.
    public func takeCompleted() -> [Completion] {
        guard hasCompleted.load(ordering: .acquiring) else { return [] }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        hasCompleted.store(false, ordering: .releasing)
        defer { completed = [] }
        return completed
    }

    /// Forgets a lookup: it is dropped when still queued, and its result is discarded when it
    /// runs or finished already.
    public func cancel(_ ticket: UInt64) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        queue.removeAll { $0.ticket == ticket }
        completed.removeAll { $0.ticket == ticket }
        if running.contains(ticket) {
            cancelled.insert(ticket)
        }
    }

    /// Threads alive now, idle or inside a lookup.
    public var threadCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return threads
    }

    /// Stops the pool: drops queued and finished lookups, ends idle threads and makes running
    /// ones end after their lookup. `onCompletion` is not called after this returns. Idempotent.
    public func shutdown() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        stopped = true
        queue = []
        completed = []
        cancelled = []
        pthread_cond_broadcast(condition)
    }

    /// Starts a detached worker thread. The caller must have locked `mutex`. When no thread can
    /// start and none runs, the lookup `ticket` fails at once so its caller is not left waiting.
    private func startThread(failing ticket: UInt64) {
        let thread: NativeThread
        do {
            thread = try NativeThread.start(name: threadName) { [self] in runWorker() }
        } catch {
            if threads == 0, let index = queue.firstIndex(where: { $0.ticket == ticket }) {
                let job = queue.remove(at: index)
                let failure = TransportError(
                    .resolveFailed,
                    "resolve \(Endpoint.tcp(host: job.host, port: job.port)) failed: \(error)")
                completed.append(Completion(ticket: job.ticket, host: job.host, port: job.port,
                                            result: .failure(failure)))
                hasCompleted.store(true, ordering: .releasing)
                onCompletion()
            }
            return
        }
        thread.detach()
        threads += 1
    }

    private func runWorker() {
        pthread_mutex_lock(mutex)
        while true {
            while queue.isEmpty && !stopped {
                idleThreads += 1
                pthread_cond_wait(condition, mutex)
                idleThreads -= 1
            }
            if stopped { break }
            let job = queue.removeFirst()
            running.insert(job.ticket)
            pthread_mutex_unlock(mutex)
            let result: Result<[SocketAddress], TransportError>
            do throws(TransportError) {
                result = .success(try resolver.resolve(host: job.host, port: job.port))
            } catch {
                result = .failure(error)
            }
            pthread_mutex_lock(mutex)
            running.remove(job.ticket)
            if stopped { break }
            if cancelled.remove(job.ticket) == nil {
                completed.append(
                    Completion(ticket: job.ticket, host: job.host, port: job.port, result: result))
                hasCompleted.store(true, ordering: .releasing)
                onCompletion()
            }
        }
        threads -= 1
        pthread_mutex_unlock(mutex)
    }
}
