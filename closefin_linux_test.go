package mocksmtp_test

import (
	"syscall"
	"unsafe"
)

// finAcked reports whether the peer's kernel acknowledged the FIN this
// TCP socket sent (its state left FIN_WAIT1), from the socket's TCP_INFO.
func finAcked(fd uintptr) (bool, error) {
	var info syscall.TCPInfo
	size := uint32(unsafe.Sizeof(info))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return false, errno
	}
	const finWait1 = 4 // include/net/tcp_states.h
	return info.State != finWait1, nil
}
