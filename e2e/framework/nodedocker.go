package framework

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A node of a multi-node cluster has a dockerd of its own, started inside the node's
// network namespace, so its containers (and the bridges, veths and iptables rules Docker
// makes for them) live in that namespace. It shares the host's mount namespace and
// cgroup hierarchy, so everything it may leave behind there is named by the node: its
// directories are under the node's directory, its containers' cgroups under a parent of
// the node's own (--cgroup-parent), and teardown sweeps both.

// nodeDocker is one node's dockerd.
type nodeDocker struct {
	proc *Process
	// dir holds --data-root, --exec-root, --pidfile and the API socket.
	dir string
	// Host is the daemon's endpoint, unix://<dir>/docker.sock (docker -H, kubelet
	// --docker-endpoint).
	Host         string
	cgroupParent string
}

// startNodeDocker starts dockerd inside ns; it does not wait for it.
func startNodeDocker(ns *NetNS, dir, cgroupParent, logPath string) (*nodeDocker, error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	d := &nodeDocker{dir: dir, Host: "unix://" + filepath.Join(dir, "docker.sock"), cgroupParent: cgroupParent}
	// The exec root holds containerd's socket: keep its path short (sun_path is 108 bytes).
	args := []string{
		"--net=" + ns.Path, "--", "dockerd",
		"--data-root=" + filepath.Join(dir, "data"),
		"--exec-root=" + filepath.Join(dir, "x"),
		"--pidfile=" + filepath.Join(dir, "docker.pid"),
		"--host=" + d.Host,
		"--cgroup-parent=" + cgroupParent,
		// No docker0: pods go on the kubelet's network of the node's podCIDR.
		"--bridge=none",
		// The host's /etc/docker/daemon.json, if any, is the host daemon's.
		"--config-file=" + filepath.Join(dir, "daemon.json"),
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		return nil, err
	}
	p, err := StartProcess("/usr/bin/nsenter", logPath, nil, args...)
	if err != nil {
		return nil, fmt.Errorf("starting dockerd in %s: %w", ns.Name, err)
	}
	p.Name = "dockerd"
	d.proc = p
	return d, nil
}

// docker runs the docker CLI against this daemon.
func (d *nodeDocker) docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", append([]string{"-H", d.Host}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker -H %s %s: %v: %s", d.Host, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ready reports whether the daemon answers, or why not.
func (d *nodeDocker) ready() error {
	if d.proc.Exited(0) {
		return fmt.Errorf("dockerd exited (%v); its log:\n%s", d.proc.ExitErr(), d.proc.Tail(30))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := d.docker(ctx, "version", "--format", "{{.Server.Version}}")
	return err
}

// load loads the images of the archive (docker save) into the daemon.
func (d *nodeDocker) load(archive string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := d.docker(ctx, "load", "-q", "-i", archive)
	return err
}

// stop removes every container of the daemon (all are the node's), stops it, kills
// what it left running (containerd shims of a daemon that did not stop cleanly), and
// unmounts and removes what it left in the mount table and the cgroup tree.
func (d *nodeDocker) stop() []error {
	var errs []error
	if !d.proc.Exited(0) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		if out, err := d.docker(ctx, "ps", "-aq"); err != nil {
			errs = append(errs, err)
		} else if ids := strings.Fields(out); len(ids) > 0 {
			if _, err := d.docker(ctx, append([]string{"rm", "-f"}, ids...)...); err != nil {
				errs = append(errs, err)
			}
		}
		cancel()
		d.proc.Stop(30 * time.Second)
	}
	killProcessesUsing(d.dir)
	// Containers first (they may hold mounts), then the mounts.
	if err := removeCgroup(d.cgroupParent); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(d.dir); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// killProcessesUsing SIGKILLs the processes whose command line names dir: the
// containerd, shims and container processes of a node's dockerd that outlived it. dir
// is unique to a test, so nothing else is touched.
func killProcessesUsing(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir+"/") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder unmounts every mount point under dir, deepest first (dockerd bind-mounts
// its data root onto itself, and overlay, shm and network namespace files under its
// roots; a daemon that stops cleanly removes them, one that died does not).
func unmountUnder(dir string) error {
	var errs []error
	for range 3 { // a mount may be stacked on another at the same point
		points, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(points) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, p := range points {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("umount %s: %w", p, err))
			}
		}
	}
	if points, _ := mountsUnder(dir); len(points) > 0 {
		errs = append(errs, fmt.Errorf("still mounted under %s: %s", dir, strings.Join(points, " ")))
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or under dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMountPath(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	return points, sc.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space ...).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroup removes the cgroup parent dockerd made in every hierarchy (cgroupfs
// directories go with rmdir only, children first). A process still in it is a container
// of the node that outlived its dockerd and shim: it is killed first, by pid.
func removeCgroup(parent string) error {
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	hierarchies = append(hierarchies, "/sys/fs/cgroup")
	var dirs []string
	for _, h := range hierarchies {
		root := filepath.Join(h, parent)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	procs := func() []int {
		var pids []int
		for _, dir := range dirs {
			b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
		}
		return pids
	}
	// A killed process leaves its cgroup when it has exited: poll, up to 10s.
	for deadline := time.Now().Add(10 * time.Second); ; {
		pids := procs()
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	var errs []error
	for _, dir := range dirs {
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
