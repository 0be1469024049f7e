package framework

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A multi-node test whose process was killed (go test -timeout, a signal) never ran its
// teardown: its daemons got SIGTERM (Pdeathsig) and its dockerds stopped their
// containers, but its namespaces, the host's link to its bridge, the mounts and cgroups
// of its dockerds and its directory stay. Everything is named after the test's process
// (namespaces k5mn<N>-p<pid>-..., cgroups /k5mn<N>-p<pid>-n<i>, owner.pid in the
// directory), so the next multi-node test removes what belongs to a process that is gone.

// ownerFile names the process that made a multi-node test directory.
const ownerFile = "owner.pid"

var staleNS = regexp.MustCompile(`^k5mn(\d+)-p(\d+)-(hub|n\d+)$`)

// alive reports whether a process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// sweepStale removes the leftovers of multi-node tests whose process is gone, logging
// what it removed and reporting what it could not.
func sweepStale(t testing.TB) {
	t.Helper()
	var errs []error
	out, _ := hostRun("ip", "netns", "list")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := staleNS.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[2])
		if alive(pid) {
			continue
		}
		ns := &NetNS{Name: f[0], Path: "/var/run/netns/" + f[0]}
		// Processes still inside (a container that outlived its dockerd) were started by
		// that test: end them, by pid, so the namespace can go.
		if pids, err := hostRun("ip", "netns", "pids", ns.Name); err == nil {
			for _, p := range strings.Fields(pids) {
				if n, err := strconv.Atoi(p); err == nil {
					_ = syscall.Kill(n, syscall.SIGKILL)
				}
			}
		}
		if err := ns.delete(); err != nil {
			errs = append(errs, err)
		}
		if m[3] == "hub" {
			if _, err := hostRun("ip", "link", "show", "dev", "k5mn"+m[1]); err == nil {
				if _, err := hostRun("ip", "link", "del", "k5mn"+m[1]); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if m[3] != "hub" {
			if err := removeCgroup("/" + ns.Name); err != nil {
				errs = append(errs, err)
			}
		}
		t.Logf("e2e: removed namespace %s of multi-node test process %d, which is gone", ns.Name, pid)
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "kube5-mn-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // finished (teardown removes the file) or not a test directory
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || alive(pid) {
			continue
		}
		killProcessesUsing(dir)
		if err := unmountUnder(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != "logs" {
				_ = os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
		t.Logf("e2e: removed the nodes' data of multi-node test process %d, which is gone (its logs are in %s)", pid, filepath.Join(dir, "logs"))
	}
	for _, err := range errs {
		t.Logf("e2e: removing a killed multi-node test's leftovers: %v", err)
	}
}

// writeOwner records this process as the owner of dir.
func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(fmt.Sprintln(os.Getpid())), 0o644)
}
