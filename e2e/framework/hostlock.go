package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The host lock serialises everything that runs a kube-proxy in this host's network
// namespace: kube-proxy programs the host's nat table and the route of the service CIDR,
// and `kube-proxy --cleanup` at a teardown removes every KUBE-* chain and that route,
// whoever made them. Two such clusters at once break each other's services, and a
// ClusterIP without its route leaks to the default gateway. Checking for a running
// kube-proxy is not enough: two tests may both check before either has started one. The
// lock is an flock, so a test binary that dies releases it.

// HostLockWait bounds how long LockHost waits for another test's cluster to end.
var HostLockWait = 5 * time.Minute

// hostLockPath is shared by every test binary of every checkout on the host.
func hostLockPath() string {
	if st, err := os.Stat("/run/lock"); err == nil && st.IsDir() {
		return "/run/lock/kube5-e2e-host.lock"
	}
	return filepath.Join(os.TempDir(), "kube5-e2e-host.lock")
}

// LockHost takes the host lock for the rest of the test (released by a t.Cleanup that
// runs after those registered later, e.g. the teardown's kube-proxy --cleanup). It waits
// for another holder up to HostLockWait and returns false if the lock stayed taken.
func LockHost(t testing.TB) bool {
	t.Helper()
	path := hostLockPath()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("e2e: opening the host lock %s: %v", path, err)
	}
	deadline := time.Now().Add(HostLockWait)
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			t.Fatalf("e2e: taking the host lock %s: %v", path, err)
		}
		holder, _ := os.ReadFile(path)
		if time.Now().After(deadline) {
			f.Close()
			t.Logf("e2e: the host lock %s is still held after %s by %s", path, HostLockWait, strings.TrimSpace(string(holder)))
			return false
		}
		if !logged {
			t.Logf("e2e: waiting (up to %s) for another test's cluster on this host to end: %s holds %s", HostLockWait, strings.TrimSpace(string(holder)), path)
			logged = true
		}
		time.Sleep(time.Second) // polling the lock, bounded by the deadline
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d (%s)\n", os.Getpid(), t.Name())), 0)
	t.Cleanup(func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
	return true
}
