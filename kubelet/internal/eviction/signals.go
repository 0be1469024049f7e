package eviction

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Observation is one signal's current value and the capacity its percentages refer to.
type Observation struct {
	Available, Capacity int64
}

// Observations maps each signal the node could read to its value.
type Observations map[Signal]Observation

// NodeSignals reads the node's signals as upstream defines them:
//   - memory.available: memory capacity minus the working set of the root memory cgroup
//     (usage minus inactive file pages, which the kernel reclaims freely); without a
//     cgroup v1 root, /proc/meminfo's MemAvailable;
//   - nodefs.*: the filesystem holding rootDir (the kubelet's --root-dir: volumes, logs);
//   - imagefs.*: the filesystem holding imageDir (Docker's data root), nodefs's when it
//     does not exist;
//   - pid.available: the kernel's pid limit minus the tasks that exist.
func NodeSignals(rootDir, imageDir string) (Observations, error) {
	_, obs, err := ReadNode(rootDir, imageDir)
	return obs, err
}

// ReadNode reads the node's memory (for /stats/summary) and its signals (for eviction)
// in one pass, so both report the same figures.
func ReadNode(rootDir, imageDir string) (NodeMemory, Observations, error) {
	mem, err := readNodeMemory()
	if err != nil {
		return mem, nil, fmt.Errorf("reading memory.available: %w", err)
	}
	obs := Observations{MemoryAvailable: {Available: mem.Capacity - mem.WorkingSet, Capacity: mem.Capacity}}
	node, inodes, err := filesystem(rootDir)
	if err != nil {
		return mem, nil, fmt.Errorf("reading nodefs.available of --root-dir %s: %w", rootDir, err)
	}
	obs[NodeFsAvailable], obs[NodeFsInodesFree] = node, inodes
	obs[ImageFsAvailable], obs[ImageFsInodesFree] = node, inodes
	if imageDir != "" {
		if img, iinodes, err := filesystem(imageDir); err == nil {
			obs[ImageFsAvailable], obs[ImageFsInodesFree] = img, iinodes
		}
	}
	if pid, err := pids(); err == nil {
		obs[PIDAvailable] = pid
	}
	return mem, obs, nil
}

func meminfo() (map[string]int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fs) > 1 && fs[1] == "kB" {
			n *= 1024
		}
		out[k] = n
	}
	return out, sc.Err()
}

// cgroupV1Memory is where the root memory cgroup's files are on a cgroup v1 host.
const cgroupV1Memory = "/sys/fs/cgroup/memory"

// NodeMemory is the node's memory as the kubelet reports it (/stats/summary) and
// evicts by (memory.available = Capacity - WorkingSet).
type NodeMemory struct {
	Capacity, Usage, WorkingSet int64
}

// readNodeMemory reads the root memory cgroup (usage, and usage minus inactive file
// pages as the working set, as cAdvisor does); without a cgroup v1 root, /proc/meminfo
// (MemTotal - MemAvailable for both).
func readNodeMemory() (NodeMemory, error) {
	mi, err := meminfo()
	if err != nil {
		return NodeMemory{}, err
	}
	capacity := mi["MemTotal"]
	if capacity == 0 {
		return NodeMemory{}, fmt.Errorf("/proc/meminfo has no MemTotal")
	}
	if usage, ws, err := rootMemory(); err == nil {
		return NodeMemory{Capacity: capacity, Usage: usage, WorkingSet: ws}, nil
	}
	used := capacity - mi["MemAvailable"]
	return NodeMemory{Capacity: capacity, Usage: used, WorkingSet: used}, nil
}

// rootMemory is the root memory cgroup's usage and working set (usage minus inactive
// file pages, which the kernel reclaims freely), as cAdvisor computes the node's for
// upstream's kubelet.
func rootMemory() (usage, workingSet int64, err error) {
	b, err := os.ReadFile(filepath.Join(cgroupV1Memory, "memory.usage_in_bytes"))
	if err != nil {
		return 0, 0, err
	}
	usage, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, 0, err
	}
	st, err := os.ReadFile(filepath.Join(cgroupV1Memory, "memory.stat"))
	if err != nil {
		return 0, 0, err
	}
	workingSet = usage
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "total_inactive_file "); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n < usage {
				workingSet -= n
			}
		}
	}
	return usage, workingSet, nil
}

func filesystem(dir string) (bytes, inodes Observation, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return bytes, inodes, err
	}
	bs := int64(st.Bsize)
	bytes = Observation{Available: int64(st.Bavail) * bs, Capacity: int64(st.Blocks) * bs}
	inodes = Observation{Available: int64(st.Ffree), Capacity: int64(st.Files)}
	return bytes, inodes, nil
}

func pids() (Observation, error) {
	limit := int64(0)
	for _, f := range []string{"/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && (limit == 0 || n < limit) {
			limit = n
		}
	}
	if limit == 0 {
		return Observation{}, fmt.Errorf("no pid limit in /proc/sys/kernel")
	}
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return Observation{}, err
	}
	return Observation{Available: limit - int64(si.Procs), Capacity: limit}, nil
}
