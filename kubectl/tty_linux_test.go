//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair with the plain syscall package (no pty library in
// the module graph): the master for the test, the slave for kubectl's stdin and stdout.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if err := ioctl(m, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatal(err)
	}
	var n uint32
	if err := ioctl(m, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

func setSize(t *testing.T, f *os.File, cols, rows uint16) {
	t.Helper()
	ws := [4]uint16{rows, cols, 0, 0}
	if err := ioctl(f, syscall.TIOCSWINSZ, unsafe.Pointer(&ws)); err != nil {
		t.Fatal(err)
	}
}

// exec -it on a terminal: raw mode (Ctrl-C reaches the container instead of killing
// kubectl), the terminal's size sent at start and again on SIGWINCH, the terminal
// restored at the end.
func TestExecTTY(t *testing.T) {
	t.Parallel()
	e, _ := streamsCluster(t)
	master, slave := openPTY(t)
	setSize(t, slave, 120, 40)
	cmd := exec.Command(kubectlBin, "--server="+e.server, "exec", "-it", "web-1", "--", "tty")
	cmd.Env = []string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, &stderr
	must(t, cmd.Start())
	var mu sync.Mutex
	var screen bytes.Buffer
	changed := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	waitScreen := func(want string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			mu.Lock()
			got := screen.String()
			mu.Unlock()
			if strings.Contains(got, want) {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("terminal shows %q, want %q (stderr %q)", got, want, stderr.String())
			}
		}
	}
	waitScreen("size 120x40\r\n")
	setSize(t, slave, 100, 30)
	must(t, cmd.Process.Signal(syscall.SIGWINCH))
	waitScreen("size 100x30\r\n")
	// In raw mode the terminal sends Ctrl-C as a byte rather than a SIGINT.
	_, err := master.Write([]byte{3})
	must(t, err)
	waitScreen("got ctrl-c\r\n")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("kubectl exec -it: %v, stderr %q", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("kubectl exec -it did not end")
	}
	var tio syscall.Termios
	must(t, ioctl(slave, syscall.TCGETS, unsafe.Pointer(&tio)))
	if tio.Lflag&syscall.ECHO == 0 || tio.Lflag&syscall.ICANON == 0 {
		t.Errorf("the terminal was left in raw mode: lflag %#x", tio.Lflag)
	}
}
