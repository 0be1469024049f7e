package nsdial

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// newNetns makes a network namespace of the test's own, brings its loopback up and
// listens on 127.0.0.1 in it; it returns the namespace's path and the listener. The
// host's namespace has no listener there, so a connection that arrives proves the dial
// happened inside.
func newNetns(t *testing.T) (string, net.Listener) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	type result struct {
		ns  netns.NsHandle
		l   net.Listener
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			res <- result{err: err}
			return
		}
		defer orig.Close()
		ns, err := netns.New() // creates and enters it
		if err != nil {
			runtime.UnlockOSThread()
			res <- result{err: err}
			return
		}
		l, err := func() (net.Listener, error) {
			if err := loopbackUp(); err != nil {
				return nil, err
			}
			return net.Listen("tcp4", "127.0.0.1:0")
		}()
		if serr := netns.Set(orig); serr != nil {
			res <- result{ns, l, fmt.Errorf("restoring the thread: %v", serr)}
			return // stays locked: the thread dies with this goroutine
		}
		runtime.UnlockOSThread()
		res <- result{ns, l, err}
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		r.l.Close()
		r.ns.Close()
	})
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(r.ns)), r.l
}

// loopbackUp sets IFF_UP on lo in the calling thread's namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

func TestDialReachesLoopbackInsideTheNamespace(t *testing.T) {
	path, l := newNetns(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "inside")
			c.Close()
		}
	}()
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	// Several at once: each locks a thread of its own and gives it back.
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			c, err := Dial(context.Background(), path, l.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			b, err := io.ReadAll(c)
			if err == nil && string(b) != "inside" {
				err = fmt.Errorf("read %q", b)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The threads went back to the pool in the host's namespace: a fresh goroutine
	// (on any thread) still sees it.
	done := make(chan bool)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		now, err := netns.Get()
		if err != nil {
			done <- false
			return
		}
		defer now.Close()
		done <- now.Equal(before)
	}()
	if !<-done {
		t.Fatal("a thread was left in the pod's network namespace")
	}

	// A port nobody listens on in the namespace: connection refused, said so.
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	_, err = Dial(context.Background(), path, "127.0.0.1:"+port)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("closed port: %v", err)
	}
	if _, err := Dial(context.Background(), "/proc/nonexistent/ns/net", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "opening the network namespace /proc/nonexistent/ns/net") {
		t.Fatalf("bad path: %v", err)
	}
}
