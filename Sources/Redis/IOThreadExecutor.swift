import Glibc
import SocketTransport
import Synchronization

/// A task executor that runs jobs on a connection's I/O thread, between its event-loop turns.
///
/// A task that prefers it (`withTaskExecutorPreference`) is resumed on the I/O thread when its
/// reply arrives and enqueues its next command there, so a round trip costs no thread switch.
/// Jobs must not block: while one runs, the connection reads and writes nothing. After the
/// I/O thread ends, jobs go to the global concurrent executor.
final class IOThreadExecutor: TaskExecutor, @unchecked Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var hasEnded = false
    }

    private let state = Mutex(State())
    private let poller: Poller?
    /// `pthread_self()` of the I/O thread, 0 before it starts.
    private let ioThread = Atomic<UInt>(0)
    /// Jobs taken from the queue; reused so taking allocates nothing in the steady state. Only
    /// the I/O thread touches it, so it opts out of runtime exclusivity checks.
    @exclusivity(unchecked) private var running: [UnownedJob] = []

    init(poller: Poller?) {
        self.poller = poller
        if poller == nil {
            state.withLock { $0.hasEnded = true }
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unownedJob = UnownedJob(job)
        let outcome = state.withLock { state -> (accepted: Bool, wasEmpty: Bool) in
            guard !state.hasEnded else { return (false, false) }
            state.jobs.append(unownedJob)
            return (true, state.jobs.count == 1)
        }
        guard outcome.accepted else {
            globalConcurrentExecutor.enqueue(ExecutorJob(unownedJob))
            return
        }
        // The loop runs queued jobs before it waits, so only another thread needs to wake it.
        if outcome.wasEmpty && pthread_self() != ioThread.load(ordering: .relaxed) {
            poller?.wake()
        }
    }

    /// Called first on the I/O thread.
    func bindToCurrentThread() {
        ioThread.store(pthread_self(), ordering: .relaxed)
    }

    var hasJobs: Bool { state.withLock { !$0.jobs.isEmpty } }

    /// Runs the jobs queued so far and returns whether there were any. Jobs they enqueue run on
    /// the next call. I/O thread only.
    @discardableResult
    func runJobs() -> Bool {
        state.withLock { state in
            guard !state.jobs.isEmpty else { return }
            swap(&state.jobs, &running)
        }
        guard !running.isEmpty else { return false }
        let executor = asUnownedTaskExecutor()
        for job in running {
            job.runSynchronously(on: executor)
        }
        running.removeAll(keepingCapacity: true)
        return true
    }

    /// Stops accepting jobs and hands the queued ones to the global executor. I/O thread only.
    func end() {
        let remaining = state.withLock { state in
            state.hasEnded = true
            defer { state.jobs.removeAll() }
            return state.jobs
        }
        for job in remaining {
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }
}
