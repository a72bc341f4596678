import DualStreamLogging
import Glibc
import SocketTransport

extension Poller {
    /// Waits for events like ``Poller/wait(timeout:)``, but logs a failed wait (rate-limited) and
    /// returns no events instead of throwing, because an I/O thread has no caller to throw to.
    /// After a failure it sleeps 10 ms so a poller that keeps failing does not spin a core.
    func waitLoggingFailures(timeout: Duration?, logger: Logger, limiter: LogRateLimiter) -> [Event] {
        do {
            return try wait(timeout: timeout)
        } catch {
            if let suppressed = limiter.admit() {
                logger.warning(
                    "redis epoll wait failed",
                    metadata: ["error": "\(error)", "log.suppressed": "\(suppressed)"])
            }
            usleep(10_000)
            return []
        }
    }
}
