import Glibc

// The Glibc module of Swift 6.3 on Linux includes neither <sys/epoll.h> nor <sys/eventfd.h>, and
// it is built without _GNU_SOURCE, so `accept4` is not visible either. These declarations bind
// the libc symbols directly. Every parameter is an integer or a pointer, which the Swift calling
// convention passes in the same registers as the C convention on x86_64 and arm64, and the
// symbols link statically from libc.a as well.
// NOTE: `@_silgen_name` is an underscored attribute; replace these with the Glibc declarations
// once the module exports them.

@_silgen_name("epoll_create1")
func linuxEpollCreate1(_ flags: Int32) -> Int32

@_silgen_name("epoll_ctl")
func linuxEpollControl(
    _ epoll: Int32, _ operation: Int32, _ descriptor: Int32, _ event: UnsafeMutableRawPointer?
) -> Int32

@_silgen_name("epoll_wait")
func linuxEpollWait(_ epoll: Int32, _ events: UnsafeMutableRawPointer?, _ maximum: Int32, _ timeout: Int32)
    -> Int32

@_silgen_name("eventfd")
func linuxEventDescriptor(_ initialValue: UInt32, _ flags: Int32) -> Int32

@_silgen_name("accept4")
func linuxAccept4(
    _ descriptor: Int32,
    _ address: UnsafeMutablePointer<sockaddr>?,
    _ length: UnsafeMutablePointer<socklen_t>?,
    _ flags: Int32
) -> Int32

/// Constants from <sys/epoll.h> and <sys/eventfd.h> (values of the Linux UAPI, same on all
/// architectures).
enum LinuxConstants {
    static let epollCloseOnExec: Int32 = 0o2000000  // EPOLL_CLOEXEC == O_CLOEXEC
    static let epollAdd: Int32 = 1  // EPOLL_CTL_ADD
    static let epollDelete: Int32 = 2  // EPOLL_CTL_DEL
    static let epollModify: Int32 = 3  // EPOLL_CTL_MOD
    static let epollIn: UInt32 = 0x001  // EPOLLIN
    static let epollOut: UInt32 = 0x004  // EPOLLOUT
    static let epollError: UInt32 = 0x008  // EPOLLERR
    static let epollHangup: UInt32 = 0x010  // EPOLLHUP
    static let eventCloseOnExec: Int32 = 0o2000000  // EFD_CLOEXEC
    static let eventNonBlocking: Int32 = 0o4000  // EFD_NONBLOCK
}

/// Layout of `struct epoll_event`: `uint32_t events` then the 64-bit `epoll_data_t`. glibc
/// declares it packed on x86_64 (12 bytes, data at offset 4) and naturally aligned elsewhere
/// (16 bytes, data at offset 8).
enum EpollEventLayout {
    #if arch(x86_64)
    static let size = 12
    static let dataOffset = 4
    #else
    static let size = 16
    static let dataOffset = 8
    #endif

    static func store(events: UInt32, data: UInt64, to buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: events, as: UInt32.self)
        buffer.storeBytes(of: data, toByteOffset: dataOffset, as: UInt64.self)
    }

    static func load(from buffer: UnsafeRawPointer) -> (events: UInt32, data: UInt64) {
        (
            buffer.loadUnaligned(as: UInt32.self),
            buffer.loadUnaligned(fromByteOffset: dataOffset, as: UInt64.self)
        )
    }
}
