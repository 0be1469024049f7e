// Package server is the kubelet's HTTP API: on --port (10250) the container logs, exec,
// attach, port-forward, the pods it runs, stats and metrics; on --read-only-port (10255) the
// read-only subset (/pods, /stats/summary, /healthz, /metrics: never exec, attach or
// port-forward); on --healthz-port (10248) /healthz.
//
// Endpoints (upstream's paths):
//
//	GET /containerLogs/{namespace}/{pod}/{container}?follow=true&tailLines=N&previous=true&timestamps=true&sinceSeconds=N
//	POST /exec/{namespace}/{pod}/{container}?command=...&stdin=1&stdout=1&stderr=1&tty=1 (protocol: kube5/proto/remotecommand)
//	POST /attach/{namespace}/{pod}/{container}?stdin=1&stdout=1&stderr=1&tty=1 the main process's stdio (same protocol, no command)
//	POST /portForward/{namespace}/{pod}?ports=N  one forwarded connection to the pod's localhost:N (protocol: kube5/proto/portforward)
//	GET /pods            a v1 PodList of the pods this kubelet runs, with their statuses
//	GET /stats/summary   node and per-pod, per-container cpu and memory
//	GET /healthz, /metrics
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/codec"
	"kube5/proto/daemon"
	"kube5/proto/remotecommand"

	"kube5/kubelet/internal/eviction"
	"kube5/kubelet/internal/runtime"
)

// Pods reports the pods this kubelet runs, with their latest statuses.
type Pods interface {
	Pods() []*corev1.Pod
}

// Server serves the kubelet API.
type Server struct {
	NodeName string
	RT       runtime.Runtime
	Pods     Pods
	// Status returns the last computed status of a pod (nil: none yet).
	Status func(uid string) *corev1.PodStatus
	// Node reads the node's own memory and filesystems for the summary, the figures its
	// eviction manager uses (nil: the node's memory is the sum of its pods', as on a
	// hollow node).
	Node func() (eviction.NodeMemory, eviction.Observations, error)
}

// Register adds the full API to d (--port).
func (s *Server) Register(d *daemon.Server) {
	s.RegisterReadOnly(d)
	d.HandleFunc("/containerLogs/", s.logs)
	d.HandleFunc("/exec/", s.exec)
	d.HandleFunc("/attach/", s.attach)
	d.HandleFunc("/portForward/", s.portForward)
}

// RegisterReadOnly adds the read-only subset to d (--read-only-port).
func (s *Server) RegisterReadOnly(d *daemon.Server) {
	d.HandleFunc("/pods", s.pods)
	d.HandleFunc("/pods/", s.pods)
	d.HandleFunc("/stats/summary", s.summary)
}

func splitPath(p, prefix string) (ns, pod, container string, ok bool) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(p, prefix), "/"), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// findContainer returns the newest instance of a pod's container, or with previous the
// newest exited one before it.
func (s *Server) findContainer(ctx context.Context, ns, pod, container string, previous bool) (*runtime.Container, error) {
	list, err := s.RT.ListContainers(ctx, "")
	if err != nil {
		return nil, err
	}
	var insts []*runtime.Container
	podFound := false
	for _, c := range list {
		if c.PodNamespace != ns || c.PodName != pod {
			continue
		}
		podFound = true
		if c.ContainerName == container {
			insts = append(insts, c)
		}
	}
	if !podFound {
		return nil, fmt.Errorf("pod %s/%s not found on node %s", ns, pod, s.NodeName)
	}
	sort.Slice(insts, func(i, j int) bool {
		if insts[i].Attempt != insts[j].Attempt {
			return insts[i].Attempt > insts[j].Attempt
		}
		return insts[i].CreatedAt.After(insts[j].CreatedAt)
	})
	switch {
	case len(insts) == 0:
		return nil, fmt.Errorf("container %s is not valid for pod %s", container, pod)
	case previous && len(insts) < 2:
		return nil, fmt.Errorf("previous terminated container %q in pod %q not found", container, pod)
	case previous:
		return insts[1], nil
	}
	return insts[0], nil
}

func boolParam(q map[string][]string, k string) bool {
	v := ""
	if vs := q[k]; len(vs) > 0 {
		v = vs[0]
	}
	b, _ := strconv.ParseBool(v)
	return b || v == "1"
}

// flushWriter flushes after every write, so followed logs stream.
type flushWriter struct {
	mu sync.Mutex
	w  io.Writer
	f  http.Flusher
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.w.Write(p)
	if f.f != nil {
		f.f.Flush()
	}
	return n, err
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container, ok := splitPath(r.URL.Path, "/containerLogs/")
	if !ok {
		http.Error(w, "path must be /containerLogs/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	c, err := s.findContainer(r.Context(), ns, pod, container, boolParam(q, "previous"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	opts := runtime.LogOptions{Follow: boolParam(q, "follow"), Timestamps: boolParam(q, "timestamps"), TailLines: -1}
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "tailLines must be a non-negative integer", http.StatusBadRequest)
			return
		}
		opts.TailLines = n
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			http.Error(w, "sinceSeconds must be a positive integer", http.StatusBadRequest)
			return
		}
		opts.Since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	w.Header().Set("Content-Type", "text/plain")
	fl, _ := w.(http.Flusher)
	out := &flushWriter{w: w, f: fl}
	if err := s.RT.Logs(r.Context(), c.ID, opts, out, out); err != nil && r.Context().Err() == nil {
		klog.V(2).InfoS("Streaming logs failed", "pod", ns+"/"+pod, "container", container, "err", err)
	}
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	ns, pod, container, ok := splitPath(r.URL.Path, "/exec/")
	if !ok {
		http.Error(w, "path must be /exec/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	if !remotecommand.IsUpgrade(r) {
		http.Error(w, "exec needs 'Connection: Upgrade' and 'Upgrade: "+remotecommand.Protocol+"' (see kube5/proto/remotecommand)", http.StatusBadRequest)
		return
	}
	req := remotecommand.ParseRequest(r.URL.Query())
	if len(req.Command) == 0 {
		http.Error(w, "exec needs at least one command parameter", http.StatusBadRequest)
		return
	}
	c, err := s.findContainer(r.Context(), ns, pod, container, false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if c.State != runtime.StateRunning {
		http.Error(w, fmt.Sprintf("container %s is not running", container), http.StatusBadRequest)
		return
	}
	sess, err := remotecommand.Accept(w, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	opts := runtime.ExecOptions{Cmd: req.Command, TTY: req.TTY, Stdin: sess.Stdin, Stdout: sess.Stdout, Stderr: sess.Stderr}
	// The client going away cancels the command's streams.
	ctx, cancel, resize := sessionStreams(sess)
	defer cancel()
	opts.Resize = resize
	code, err := s.RT.Exec(ctx, c.ID, opts)
	sess.Finish(code, err)
}

func (s *Server) pods(w http.ResponseWriter, r *http.Request) {
	pods := s.Pods.Pods()
	sort.Slice(pods, func(i, j int) bool {
		a, b := pods[i].GetMetadata(), pods[j].GetMetadata()
		return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
	})
	var items [][]byte
	for _, p := range pods {
		if s.Status != nil {
			if st := s.Status(p.GetMetadata().GetUid()); st != nil {
				p = &corev1.Pod{Metadata: p.GetMetadata(), Spec: p.GetSpec(), Status: st}
			}
		}
		b, err := codec.EncodeItem(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		items = append(items, b)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[`)
	for i, b := range items {
		if i > 0 {
			_, _ = io.WriteString(w, ",")
		}
		_, _ = w.Write(b)
	}
	_, _ = io.WriteString(w, "]}\n")
}

// Summary types, named and shaped as upstream's stats/v1alpha1 (the fields we fill).
type (
	CPUStats struct {
		Time                 time.Time `json:"time"`
		UsageCoreNanoSeconds uint64    `json:"usageCoreNanoSeconds"`
	}
	MemoryStats struct {
		Time            time.Time `json:"time"`
		AvailableBytes  *uint64   `json:"availableBytes,omitempty"`
		UsageBytes      uint64    `json:"usageBytes"`
		WorkingSetBytes uint64    `json:"workingSetBytes"`
	}
	FsStats struct {
		Time           time.Time `json:"time"`
		AvailableBytes uint64    `json:"availableBytes"`
		CapacityBytes  uint64    `json:"capacityBytes"`
		UsedBytes      uint64    `json:"usedBytes"`
		InodesFree     uint64    `json:"inodesFree"`
		Inodes         uint64    `json:"inodes"`
		InodesUsed     uint64    `json:"inodesUsed"`
	}
	RuntimeStats struct {
		ImageFs *FsStats `json:"imageFs,omitempty"`
	}
	ContainerStats struct {
		Name      string       `json:"name"`
		StartTime time.Time    `json:"startTime"`
		CPU       *CPUStats    `json:"cpu,omitempty"`
		Memory    *MemoryStats `json:"memory,omitempty"`
	}
	PodReference struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	}
	PodStats struct {
		PodRef     PodReference     `json:"podRef"`
		StartTime  time.Time        `json:"startTime"`
		Containers []ContainerStats `json:"containers"`
		CPU        *CPUStats        `json:"cpu,omitempty"`
		Memory     *MemoryStats     `json:"memory,omitempty"`
	}
	NodeStats struct {
		NodeName string        `json:"nodeName"`
		CPU      *CPUStats     `json:"cpu,omitempty"`
		Memory   *MemoryStats  `json:"memory,omitempty"`
		Fs       *FsStats      `json:"fs,omitempty"`
		Runtime  *RuntimeStats `json:"runtime,omitempty"`
	}
	Summary struct {
		Node NodeStats  `json:"node"`
		Pods []PodStats `json:"pods"`
	}
)

func (s *Server) summary(w http.ResponseWriter, r *http.Request) {
	list, err := s.RT.ListContainers(r.Context(), "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now()
	sum := Summary{Node: NodeStats{NodeName: s.NodeName, CPU: &CPUStats{Time: now}, Memory: &MemoryStats{Time: now}}, Pods: []PodStats{}}
	byPod := map[string]*PodStats{}
	var order []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range list {
		if c.State != runtime.StateRunning || c.IsSandbox() {
			continue
		}
		ps, ok := byPod[c.PodUID]
		if !ok {
			ps = &PodStats{PodRef: PodReference{Name: c.PodName, Namespace: c.PodNamespace, UID: c.PodUID}, StartTime: c.CreatedAt,
				CPU: &CPUStats{Time: now}, Memory: &MemoryStats{Time: now}}
			byPod[c.PodUID] = ps
			order = append(order, c.PodUID)
		}
		wg.Add(1)
		go func(c *runtime.Container, ps *PodStats) {
			defer wg.Done()
			st, err := s.RT.Stats(r.Context(), c.ID)
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					klog.V(3).InfoS("Container stats failed", "container", c.Name, "err", err)
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			cs := ContainerStats{Name: c.ContainerName, StartTime: c.CreatedAt,
				CPU:    &CPUStats{Time: st.Time, UsageCoreNanoSeconds: st.CPUUsageNanos},
				Memory: &MemoryStats{Time: st.Time, UsageBytes: st.MemoryUsageBytes, WorkingSetBytes: st.MemoryWorkingSet}}
			ps.Containers = append(ps.Containers, cs)
			ps.CPU.UsageCoreNanoSeconds += st.CPUUsageNanos
			ps.Memory.UsageBytes += st.MemoryUsageBytes
			ps.Memory.WorkingSetBytes += st.MemoryWorkingSet
			sum.Node.CPU.UsageCoreNanoSeconds += st.CPUUsageNanos
			sum.Node.Memory.UsageBytes += st.MemoryUsageBytes
			sum.Node.Memory.WorkingSetBytes += st.MemoryWorkingSet
		}(c, ps)
	}
	wg.Wait()
	s.nodeFigures(&sum.Node, now)
	for _, uid := range order {
		ps := byPod[uid]
		sort.Slice(ps.Containers, func(i, j int) bool { return ps.Containers[i].Name < ps.Containers[j].Name })
		sum.Pods = append(sum.Pods, *ps)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(sum)
}

// nodeFigures replaces the node's memory (the sum of its pods' so far) with the node's
// own, as upstream's summary reports the root cgroup, and adds its filesystems.
func (s *Server) nodeFigures(n *NodeStats, now time.Time) {
	if s.Node == nil {
		return
	}
	mem, obs, err := s.Node()
	if err != nil {
		klog.V(2).InfoS("Reading the node's own usage failed; the summary's node figures are its pods'", "err", err)
		return
	}
	avail := uint64(mem.Capacity - mem.WorkingSet)
	n.Memory = &MemoryStats{Time: now, AvailableBytes: &avail, UsageBytes: uint64(mem.Usage), WorkingSetBytes: uint64(mem.WorkingSet)}
	fs := func(bytes, inodes eviction.Signal) *FsStats {
		b, i := obs[bytes], obs[inodes]
		return &FsStats{Time: now, AvailableBytes: uint64(b.Available), CapacityBytes: uint64(b.Capacity), UsedBytes: uint64(b.Capacity - b.Available),
			InodesFree: uint64(i.Available), Inodes: uint64(i.Capacity), InodesUsed: uint64(i.Capacity - i.Available)}
	}
	n.Fs = fs(eviction.NodeFsAvailable, eviction.NodeFsInodesFree)
	n.Runtime = &RuntimeStats{ImageFs: fs(eviction.ImageFsAvailable, eviction.ImageFsInodesFree)}
}

// sessionStreams gives an exec or attach session's context, cancelled when the client
// goes away (the command's streams have nobody left), and its terminal sizes in the
// runtime's terms (nil without a TTY).
func sessionStreams(sess *remotecommand.Session) (context.Context, context.CancelFunc, <-chan runtime.TermSize) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-sess.Done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if sess.Resize == nil {
		return ctx, cancel, nil
	}
	resize := make(chan runtime.TermSize, 4)
	go func() {
		defer close(resize)
		for sz := range sess.Resize {
			select {
			case resize <- runtime.TermSize{Width: sz.Width, Height: sz.Height}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, cancel, resize
}
