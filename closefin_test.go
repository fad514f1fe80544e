package mocksmtp_test

import (
	"fmt"
	"net"
	"time"
)

// finConn is a client's TCP connection whose Close returns only once the
// server's kernel has the client's end of input: it shuts its writing
// side down, waits for the server's kernel to acknowledge that FIN (on
// Linux; elsewhere it cannot tell), then closes. Without it a test that
// closes the client and then the server cannot say the client left
// first: on a busy machine the loopback delivers the FIN later (from
// ksoftirqd), and the server, which can know only of an end that
// arrived, rightly ends the session "server shut down".
type finConn struct{ *net.TCPConn }

func (c finConn) Close() error {
	if err := c.CloseWrite(); err != nil {
		c.TCPConn.Close()
		return err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		c.TCPConn.Close()
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var acked bool
		var aerr error
		if err := rc.Control(func(fd uintptr) { acked, aerr = finAcked(fd) }); err != nil {
			aerr = err
		}
		if aerr != nil || acked {
			c.TCPConn.Close()
			return aerr
		}
		if time.Now().After(deadline) {
			c.TCPConn.Close()
			return fmt.Errorf("the server's kernel did not acknowledge the client's FIN in 10s")
		}
		time.Sleep(100 * time.Microsecond) // polls the socket's state, to a deadline
	}
}

// dialFin dials addr over TCP and returns the connection as a finConn.
func dialFin(addr string) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return finConn{conn.(*net.TCPConn)}, nil
}
