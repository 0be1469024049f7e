package eviction

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/scheme"

	"kube5/kubelet/internal/status"
)

const mi = 1 << 20

// ---- fakes ----

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

type evictCall struct {
	uid     string
	failure status.Failure
	grace   time.Duration
}

type event struct {
	object, eventType, reason, message string
}

type fakeRecorder struct {
	mu     sync.Mutex
	events []event
}

func (r *fakeRecorder) Eventf(obj scheme.Object, eventType, reason, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{obj.GetMetadata().GetName(), eventType, reason, fmt.Sprintf(format, args...)})
}

// env is a manager wired to fakes the test controls.
type env struct {
	m        *Manager
	clock    *fakeClock
	obs      Observations
	obsErr   error
	pods     []*corev1.Pod
	usage    map[string]PodUsage
	refuse   map[string]bool // uids Evict reports gone (returns false)
	evicted  []evictCall
	usageFor [][]string // uids passed to Usage on each call
	rec      *fakeRecorder
}

func newEnv(t *testing.T, thresholds []Threshold, mod func(*Config)) *env {
	t.Helper()
	e := &env{
		clock:  &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		obs:    Observations{},
		usage:  map[string]PodUsage{},
		refuse: map[string]bool{},
		rec:    &fakeRecorder{},
	}
	cfg := Config{
		NodeName:                 "node-1",
		Thresholds:               thresholds,
		PressureTransitionPeriod: 5 * time.Minute,
		MaxPodGracePeriod:        30 * time.Second,
		Signals: func() (Observations, error) {
			if e.obsErr != nil {
				return nil, e.obsErr
			}
			out := Observations{}
			for k, v := range e.obs {
				out[k] = v
			}
			return out, nil
		},
		Pods: func() []*corev1.Pod { return e.pods },
		Usage: func(_ context.Context, pods []*corev1.Pod) map[string]PodUsage {
			var uids []string
			for _, p := range pods {
				uids = append(uids, p.GetMetadata().GetUid())
			}
			e.usageFor = append(e.usageFor, uids)
			return e.usage
		},
		Evict: func(uid string, f *status.Failure, grace time.Duration) bool {
			e.evicted = append(e.evicted, evictCall{uid, *f, grace})
			return !e.refuse[uid]
		},
		Recorder: e.rec,
		Now:      e.clock.now,
	}
	if mod != nil {
		mod(&cfg)
	}
	e.m = New(cfg)
	return e
}

func (e *env) sync() *corev1.Pod { return e.m.Synchronize(context.Background()) }

// conditions is the manager's pressure conditions, for readable comparisons.
func (e *env) conditions() string {
	var on []string
	for _, p := range []Pressure{MemoryPressure, DiskPressure, PIDPressure} {
		if e.m.Pressure(p) {
			on = append(on, string(p))
		}
	}
	return strings.Join(on, ",")
}

func (e *env) evictedUIDs() []string {
	var out []string
	for _, c := range e.evicted {
		out = append(out, c.uid)
	}
	return out
}

func mustParse(t *testing.T, hard, soft, grace string) []Threshold {
	t.Helper()
	ts, err := ParseThresholds(hard, soft, grace)
	if err != nil {
		t.Fatalf("ParseThresholds(%q, %q, %q): %v", hard, soft, grace, err)
	}
	return ts
}

// ---- pod builders ----

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name},
		Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withPriority(v int32) podOpt { return func(p *corev1.Pod) { p.Spec.Priority = &v } }

func withGrace(s int64) podOpt {
	return func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = &s }
}

func withAnnotation(k, v string) podOpt {
	return func(p *corev1.Pod) {
		if p.Metadata.Annotations == nil {
			p.Metadata.Annotations = map[string]string{}
		}
		p.Metadata.Annotations[k] = v
	}
}

// withRequests sets requests (and limits = requests when guaranteed) on container "c".
func withRequests(guaranteed bool, rl map[string]string) podOpt {
	return func(p *corev1.Pod) {
		req := map[string]*metav1.Quantity{}
		for k, v := range rl {
			req[k] = metav1.MustParseQuantity(v)
		}
		r := &corev1.ResourceRequirements{Requests: req}
		if guaranteed {
			lim := map[string]*metav1.Quantity{}
			for k, v := range rl {
				lim[k] = metav1.MustParseQuantity(v)
			}
			r.Limits = lim
		}
		p.Spec.Containers[0].Resources = r
	}
}

func withQoS(q string) podOpt {
	return func(p *corev1.Pod) { p.Status = &corev1.PodStatus{QosClass: q} }
}

func withToleration(tol *corev1.Toleration) podOpt {
	return func(p *corev1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, tol) }
}

func memUsage(bytes int64) PodUsage { return PodUsage{Memory: map[string]int64{"c": bytes}} }

// ---- ParseThresholds ----

func TestParseThresholdsDefaultHard(t *testing.T) {
	ts := mustParse(t, DefaultHard, "", "")
	if len(ts) != 4 {
		t.Fatalf("DefaultHard parsed to %d thresholds, want 4: %+v", len(ts), ts)
	}
	want := map[Signal]Threshold{
		MemoryAvailable:  {Signal: MemoryAvailable, Quantity: 100 * mi, Hard: true},
		NodeFsAvailable:  {Signal: NodeFsAvailable, Percentage: 0.10, Hard: true},
		NodeFsInodesFree: {Signal: NodeFsInodesFree, Percentage: 0.05, Hard: true},
		ImageFsAvailable: {Signal: ImageFsAvailable, Percentage: 0.15, Hard: true},
	}
	for _, got := range ts {
		w, ok := want[got.Signal]
		if !ok {
			t.Errorf("unexpected threshold %+v", got)
			continue
		}
		delete(want, got.Signal)
		if got.Quantity != w.Quantity || !approx(got.Percentage, w.Percentage) || !got.Hard || got.GracePeriod != 0 {
			t.Errorf("%s: got %+v, want %+v", got.Signal, got, w)
		}
	}
	for s := range want {
		t.Errorf("missing threshold for %s", s)
	}
}

func approx(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		name              string
		hard, soft, grace string
		want              []Threshold // compared on Signal, Quantity, Percentage, Hard, GracePeriod
	}{
		{
			name: "quantity in binary SI",
			hard: "memory.available<100Mi",
			want: []Threshold{{Signal: MemoryAvailable, Quantity: 104857600, Hard: true}},
		},
		{
			name: "decimal quantity and fractional percentage",
			hard: "memory.available<1G, nodefs.available<12.5%",
			want: []Threshold{
				{Signal: MemoryAvailable, Quantity: 1000000000, Hard: true},
				{Signal: NodeFsAvailable, Percentage: 0.125, Hard: true},
			},
		},
		{
			name: "100% is allowed",
			hard: "pid.available<100%",
			want: []Threshold{{Signal: PIDAvailable, Percentage: 1, Hard: true}},
		},
		{
			name:  "soft with grace period",
			hard:  "memory.available<100Mi",
			soft:  "memory.available<1Gi,nodefs.available<15%",
			grace: "memory.available=1m30s,nodefs.available=2m",
			want: []Threshold{
				{Signal: MemoryAvailable, Quantity: 100 * mi, Hard: true},
				{Signal: MemoryAvailable, Quantity: 1024 * mi, GracePeriod: 90 * time.Second},
				{Signal: NodeFsAvailable, Percentage: 0.15, GracePeriod: 2 * time.Minute},
			},
		},
		{
			name: "empty flags",
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustParse(t, tc.hard, tc.soft, tc.grace)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d thresholds %+v, want %d", len(got), got, len(tc.want))
			}
			// Hard thresholds come first, each list sorted by signal.
			for i, w := range tc.want {
				g := got[i]
				if g.Signal != w.Signal || g.Quantity != w.Quantity || !approx(g.Percentage, w.Percentage) || g.Hard != w.Hard || g.GracePeriod != w.GracePeriod {
					t.Errorf("threshold %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseThresholdsErrors(t *testing.T) {
	tests := []struct {
		name              string
		hard, soft, grace string
		wantIn            []string // substrings of the error
	}{
		{"soft without grace", "", "memory.available<1Gi", "", []string{"--eviction-soft-grace-period", "memory.available"}},
		{"soft with another signal's grace", "", "memory.available<1Gi", "nodefs.available=1m", []string{"--eviction-soft-grace-period"}},
		{"unknown hard signal", "memory.free<1Gi", "", "", []string{"--eviction-hard", "memory.free"}},
		{"unknown soft signal", "", "disk.available<1Gi", "disk.available=1m", []string{"--eviction-soft", "disk.available"}},
		{"unknown soft signal, grace for a known one", "", "disk.available<1Gi", "memory.available=1m", []string{"--eviction-soft", "disk.available"}},
		{"missing <", "memory.available=100Mi", "", "", []string{"--eviction-hard", "memory.available=100Mi"}},
		{"greater than", "memory.available>100Mi", "", "", []string{"--eviction-hard", "<"}},
		{"zero percent", "nodefs.available<0%", "", "", []string{"--eviction-hard", "nodefs.available<0%", "percentage"}},
		{"150 percent", "nodefs.available<150%", "", "", []string{"--eviction-hard", "percentage"}},
		{"negative percent", "nodefs.available<-5%", "", "", []string{"percentage"}},
		{"not a number percent", "nodefs.available<abc%", "", "", []string{"percentage"}},
		{"NaN percent", "nodefs.available<NaN%", "", "", []string{"percentage"}},
		{"zero quantity", "memory.available<0", "", "", []string{"--eviction-hard", "positive"}},
		{"negative quantity", "memory.available<-100Mi", "", "", []string{"--eviction-hard", "positive"}},
		{"bad quantity", "memory.available<lots", "", "", []string{"--eviction-hard", "memory.available<lots"}},
		{"empty quantity", "memory.available<", "", "", []string{"--eviction-hard"}},
		{"duplicate hard", "memory.available<100Mi,memory.available<200Mi", "", "", []string{"--eviction-hard", "twice"}},
		{"duplicate soft", "", "memory.available<1Gi,memory.available<2Gi", "memory.available=1m", []string{"--eviction-soft", "twice"}},
		{"bad grace duration", "", "memory.available<1Gi", "memory.available=soon", []string{"--eviction-soft-grace-period", "memory.available=soon"}},
		{"negative grace duration", "", "memory.available<1Gi", "memory.available=-1m", []string{"--eviction-soft-grace-period"}},
		{"grace without =", "", "memory.available<1Gi", "memory.available", []string{"--eviction-soft-grace-period"}},
		{"grace with unknown signal", "", "memory.available<1Gi", "memory.available=1m,foo=1m", []string{"--eviction-soft-grace-period", "foo"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ParseThresholds(tc.hard, tc.soft, tc.grace)
			if err == nil {
				t.Fatalf("ParseThresholds(%q, %q, %q) = %+v, want an error", tc.hard, tc.soft, tc.grace, ts)
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestThresholdValueAndMemoryReserved(t *testing.T) {
	ts := mustParse(t, "memory.available<100Mi,nodefs.available<10%", "memory.available<1Gi", "memory.available=1m")
	byKey := map[string]Threshold{}
	for _, th := range ts {
		byKey[fmt.Sprintf("%s/%v", th.Signal, th.Hard)] = th
	}
	if got := byKey["nodefs.available/true"].Value(1000 * mi); got != 100*mi {
		t.Errorf("10%% of 1000Mi = %d, want %d", got, 100*mi)
	}
	if got := byKey["memory.available/true"].Value(8192 * mi); got != 100*mi {
		t.Errorf("absolute threshold Value = %d, want %d regardless of capacity", got, 100*mi)
	}
	if got := byKey["memory.available/true"].String(); got != "memory.available<100Mi" {
		t.Errorf("String() = %q", got)
	}

	tests := []struct {
		name     string
		ts       []Threshold
		capacity int64
		want     int64
	}{
		{"hard quantity", ts, 4096 * mi, 100 * mi},
		{"hard percentage", mustParse(t, "memory.available<5%", "", ""), 2000 * mi, 100 * mi},
		{"only soft memory threshold", mustParse(t, "", "memory.available<1Gi", "memory.available=1m"), 4096 * mi, 0},
		{"no memory threshold", mustParse(t, "nodefs.available<10%", "", ""), 4096 * mi, 0},
		{"none", nil, 4096 * mi, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MemoryReserved(tc.ts, tc.capacity); got != tc.want {
				t.Errorf("MemoryReserved = %d, want %d", got, tc.want)
			}
		})
	}
}

// ---- Synchronize ----

func TestSynchronizeNoThresholdMet(t *testing.T) {
	e := newEnv(t, mustParse(t, DefaultHard, "", ""), nil)
	e.obs = Observations{
		MemoryAvailable:  {Available: 2048 * mi, Capacity: 4096 * mi},
		NodeFsAvailable:  {Available: 50 * mi, Capacity: 100 * mi},
		NodeFsInodesFree: {Available: 500, Capacity: 1000},
		ImageFsAvailable: {Available: 50 * mi, Capacity: 100 * mi},
		PIDAvailable:     {Available: 30000, Capacity: 32768},
	}
	e.pods = []*corev1.Pod{pod("a"), pod("b")}
	for i := 0; i < 3; i++ {
		if p := e.sync(); p != nil {
			t.Fatalf("evicted %s with no threshold met", p.GetMetadata().GetName())
		}
		e.clock.advance(10 * time.Second)
	}
	if c := e.conditions(); c != "" {
		t.Errorf("conditions %q, want none", c)
	}
	if len(e.evicted) != 0 || len(e.usageFor) != 0 {
		t.Errorf("evict calls %v, usage calls %v; want none", e.evicted, e.usageFor)
	}
	if len(e.rec.events) != 0 {
		t.Errorf("events %+v, want none", e.rec.events)
	}
	if f := e.m.Admit(pod("new")); f != nil {
		t.Errorf("Admit without pressure: %+v", f)
	}
}

func TestSynchronizeHardMemoryEvictsOnePodPerCall(t *testing.T) {
	e := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), nil)
	e.obs = Observations{MemoryAvailable: {Available: 50 * mi, Capacity: 4096 * mi}}
	guaranteed := pod("guaranteed", withRequests(true, map[string]string{"memory": "512Mi", "cpu": "1"}), withGrace(60))
	bestEffort := pod("besteffort", withGrace(60))
	e.pods = []*corev1.Pod{guaranteed, bestEffort}
	e.usage = map[string]PodUsage{
		"uid-guaranteed": memUsage(400 * mi), // larger, but within its request
		"uid-besteffort": memUsage(200 * mi),
	}

	got := e.sync()
	if got == nil || got.GetMetadata().GetName() != "besteffort" {
		t.Fatalf("first eviction = %v, want besteffort (over its request)", got.GetMetadata().GetName())
	}
	if c := e.conditions(); c != "MemoryPressure" {
		t.Errorf("conditions %q, want MemoryPressure", c)
	}
	if len(e.evicted) != 1 {
		t.Fatalf("Evict called %d times in one Synchronize, want 1: %+v", len(e.evicted), e.evicted)
	}
	call := e.evicted[0]
	if call.grace != 0 {
		t.Errorf("hard eviction grace %v, want 0 (even with terminationGracePeriodSeconds 60)", call.grace)
	}
	wantMsg := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c was using 200Mi, request is 0, has larger consumption of memory. "
	wantFailure := status.Failure{Reason: "Evicted", Message: wantMsg, Disruption: true}
	if call.failure != wantFailure {
		t.Errorf("failure\n got %+v\nwant %+v", call.failure, wantFailure)
	}
	wantEvents := []event{
		{"node-1", "Warning", "EvictionThresholdMet", "Attempting to reclaim memory"},
		{"besteffort", "Warning", "Evicted", wantMsg},
	}
	if fmt.Sprint(e.rec.events) != fmt.Sprint(wantEvents) {
		t.Errorf("events\n got %+v\nwant %+v", e.rec.events, wantEvents)
	}

	// Still under pressure: the next round evicts the next pod, again exactly one.
	e.clock.advance(10 * time.Second)
	e.pods = []*corev1.Pod{guaranteed}
	if got := e.sync(); got == nil || got.GetMetadata().GetName() != "guaranteed" {
		t.Fatalf("second eviction = %v, want guaranteed", got)
	}
	if ids := e.evictedUIDs(); fmt.Sprint(ids) != "[uid-besteffort uid-guaranteed]" {
		t.Errorf("evicted %v", ids)
	}
	// No message line for a container within its request.
	if m := e.evicted[1].failure.Message; strings.Contains(m, "Container") {
		t.Errorf("message %q names a container within its request", m)
	}
}

func TestSynchronizeMemoryRanking(t *testing.T) {
	tests := []struct {
		name  string
		pods  []*corev1.Pod
		usage map[string]PodUsage
		want  string
	}{
		{
			name: "over request before within request even when smaller",
			pods: []*corev1.Pod{
				pod("within", withRequests(true, map[string]string{"memory": "1Gi"})),
				pod("over"),
			},
			usage: map[string]PodUsage{"uid-within": memUsage(900 * mi), "uid-over": memUsage(10 * mi)},
			want:  "over",
		},
		{
			name: "among pods over request, lower priority first",
			pods: []*corev1.Pod{
				pod("low-big", withPriority(100)),
				pod("lowest-small", withPriority(-5)),
				pod("high-bigger", withPriority(1000)),
			},
			usage: map[string]PodUsage{
				"uid-low-big":      memUsage(500 * mi),
				"uid-lowest-small": memUsage(20 * mi),
				"uid-high-bigger":  memUsage(900 * mi),
			},
			want: "lowest-small",
		},
		{
			name: "same priority: largest usage above requests",
			pods: []*corev1.Pod{
				pod("big-request", withRequests(false, map[string]string{"memory": "600Mi"})),
				pod("small-request", withRequests(false, map[string]string{"memory": "100Mi"})),
			},
			// big-request uses more in total (700Mi vs 400Mi) but only 100Mi above its request.
			usage: map[string]PodUsage{"uid-big-request": memUsage(700 * mi), "uid-small-request": memUsage(400 * mi)},
			want:  "small-request",
		},
		{
			name: "all within requests: lower priority first",
			pods: []*corev1.Pod{
				pod("p10", withPriority(10), withRequests(true, map[string]string{"memory": "1Gi"})),
				pod("p1", withPriority(1), withRequests(true, map[string]string{"memory": "1Gi"})),
			},
			usage: map[string]PodUsage{"uid-p10": memUsage(100 * mi), "uid-p1": memUsage(100 * mi)},
			want:  "p1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), nil)
			e.obs = Observations{MemoryAvailable: {Available: 10 * mi, Capacity: 4096 * mi}}
			e.pods = tc.pods
			e.usage = tc.usage
			got := e.sync()
			if got == nil || got.GetMetadata().GetName() != tc.want {
				t.Fatalf("evicted %v, want %s", got.GetMetadata().GetName(), tc.want)
			}
			if len(e.evicted) != 1 {
				t.Errorf("Evict called %d times, want 1", len(e.evicted))
			}
		})
	}
}

func TestSynchronizeNeverEvictsCriticalPods(t *testing.T) {
	static := pod("static", withAnnotation("kubernetes.io/config.source", "file"))
	mirror := pod("mirror", withAnnotation("kubernetes.io/config.mirror", "abc123"))
	sysCritical := pod("syscritical", withPriority(2000000000))
	nodeCritical := pod("nodecritical", withPriority(2000001000))
	critical := []*corev1.Pod{static, mirror, sysCritical, nodeCritical}
	usage := map[string]PodUsage{}
	for _, p := range critical {
		usage[p.GetMetadata().GetUid()] = memUsage(1024 * mi) // far above their (zero) requests
	}
	usage["uid-ordinary"] = memUsage(1 * mi)

	t.Run("only critical pods: nothing evicted", func(t *testing.T) {
		e := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), nil)
		e.obs = Observations{MemoryAvailable: {Available: 10 * mi, Capacity: 4096 * mi}}
		e.pods = critical
		e.usage = usage
		for i := 0; i < 3; i++ {
			if p := e.sync(); p != nil {
				t.Fatalf("evicted critical pod %s", p.GetMetadata().GetName())
			}
			e.clock.advance(10 * time.Second)
		}
		if len(e.evicted) != 0 {
			t.Errorf("Evict called for %v", e.evictedUIDs())
		}
		if c := e.conditions(); c != "MemoryPressure" {
			t.Errorf("conditions %q, want MemoryPressure even with nothing to evict", c)
		}
	})
	t.Run("a non-critical pod is evicted instead", func(t *testing.T) {
		e := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), nil)
		e.obs = Observations{MemoryAvailable: {Available: 10 * mi, Capacity: 4096 * mi}}
		e.pods = append(append([]*corev1.Pod{}, critical...), pod("ordinary", withPriority(1999999999)))
		e.usage = usage
		if p := e.sync(); p == nil || p.GetMetadata().GetName() != "ordinary" {
			t.Fatalf("evicted %v, want ordinary", p)
		}
		for _, c := range e.evicted {
			if c.uid != "uid-ordinary" {
				t.Errorf("Evict called for critical pod %s", c.uid)
			}
		}
		for _, uids := range e.usageFor {
			if fmt.Sprint(uids) != "[uid-ordinary]" {
				t.Errorf("Usage asked for %v, want only the evictable pod", uids)
			}
		}
	})
}

func TestSynchronizeSoftThresholdGracePeriod(t *testing.T) {
	tests := []struct {
		name      string
		maxGrace  time.Duration
		podGrace  *int64
		wantGrace time.Duration
	}{
		{"pod grace shorter than max", 30 * time.Second, ptr(int64(10)), 10 * time.Second},
		{"pod grace longer than max", 30 * time.Second, ptr(int64(120)), 30 * time.Second},
		{"pod grace unset", 30 * time.Second, nil, 30 * time.Second},
		{"pod grace zero", 30 * time.Second, ptr(int64(0)), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, mustParse(t, "memory.available<100Mi", "memory.available<1Gi", "memory.available=2m"),
				func(c *Config) { c.MaxPodGracePeriod = tc.maxGrace })
			// Above the hard threshold, below the soft one.
			e.obs = Observations{MemoryAvailable: {Available: 500 * mi, Capacity: 4096 * mi}}
			p := pod("victim")
			p.Spec.TerminationGracePeriodSeconds = tc.podGrace
			e.pods = []*corev1.Pod{p}
			e.usage = map[string]PodUsage{"uid-victim": memUsage(300 * mi)}

			if got := e.sync(); got != nil {
				t.Fatalf("soft threshold evicted %s at once", got.GetMetadata().GetName())
			}
			if c := e.conditions(); c != "MemoryPressure" {
				t.Fatalf("conditions %q, want MemoryPressure as soon as the soft threshold is met", c)
			}
			e.clock.advance(119 * time.Second)
			if got := e.sync(); got != nil {
				t.Fatalf("evicted %s before the 2m grace period", got.GetMetadata().GetName())
			}
			if len(e.evicted) != 0 {
				t.Fatalf("Evict called before the grace period: %+v", e.evicted)
			}
			e.clock.advance(1 * time.Second)
			if got := e.sync(); got == nil {
				t.Fatal("nothing evicted once the soft threshold held for its grace period")
			}
			if len(e.evicted) != 1 {
				t.Fatalf("Evict calls %+v, want 1", e.evicted)
			}
			if g := e.evicted[0].grace; g != tc.wantGrace {
				t.Errorf("grace %v, want %v", g, tc.wantGrace)
			}
			if m := e.evicted[0].failure.Message; !strings.HasPrefix(m, "The node was low on resource: memory. Threshold quantity: 1Gi, available: 500Mi. ") {
				t.Errorf("message %q does not name the soft threshold", m)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSynchronizeSoftGraceRestartsWhenSignalRecovers(t *testing.T) {
	e := newEnv(t, mustParse(t, "", "memory.available<1Gi", "memory.available=1m"), nil)
	e.pods = []*corev1.Pod{pod("a")}
	e.usage = map[string]PodUsage{"uid-a": memUsage(10 * mi)}
	low := Observation{Available: 500 * mi, Capacity: 4096 * mi}
	high := Observation{Available: 2048 * mi, Capacity: 4096 * mi}

	e.obs = Observations{MemoryAvailable: low}
	e.sync()
	e.clock.advance(50 * time.Second)
	e.obs = Observations{MemoryAvailable: high} // recovers: the grace clock restarts
	e.sync()
	e.clock.advance(10 * time.Second)
	e.obs = Observations{MemoryAvailable: low}
	if got := e.sync(); got != nil {
		t.Fatalf("evicted %s: the grace period should restart after the signal recovered", got.GetMetadata().GetName())
	}
	e.clock.advance(59 * time.Second)
	if got := e.sync(); got != nil {
		t.Fatalf("evicted %s 59s after the threshold was met again", got.GetMetadata().GetName())
	}
	e.clock.advance(1 * time.Second)
	if got := e.sync(); got == nil {
		t.Fatal("nothing evicted 60s after the threshold was met again")
	}
}

func TestSynchronizePressureTransitionPeriod(t *testing.T) {
	e := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), func(c *Config) { c.PressureTransitionPeriod = 5 * time.Minute })
	e.pods = []*corev1.Pod{pod("a")}
	e.usage = map[string]PodUsage{"uid-a": memUsage(10 * mi)}
	e.obs = Observations{MemoryAvailable: {Available: 50 * mi, Capacity: 4096 * mi}}
	e.sync()
	if !e.m.Pressure(MemoryPressure) {
		t.Fatal("MemoryPressure not set while the threshold is met")
	}
	evictions := len(e.evicted)

	e.obs = Observations{MemoryAvailable: {Available: 2048 * mi, Capacity: 4096 * mi}}
	steps := []struct {
		advance time.Duration
		want    bool
	}{
		{0, true},
		{1 * time.Minute, true},
		{3*time.Minute + 59*time.Second, true}, // 4m59s after last met
		{1 * time.Second, false},               // 5m after last met
		{1 * time.Minute, false},
	}
	for i, s := range steps {
		e.clock.advance(s.advance)
		if p := e.sync(); p != nil {
			t.Fatalf("step %d: evicted %s after the signal recovered", i, p.GetMetadata().GetName())
		}
		if got := e.m.Pressure(MemoryPressure); got != s.want {
			t.Errorf("step %d (+%v): MemoryPressure = %v, want %v", i, s.advance, got, s.want)
		}
		// While the condition is held, BestEffort pods are still refused.
		if f := e.m.Admit(pod("new")); (f != nil) != s.want {
			t.Errorf("step %d: Admit = %+v with MemoryPressure %v", i, f, s.want)
		}
	}
	if len(e.evicted) != evictions {
		t.Errorf("evictions after recovery: %+v", e.evicted[evictions:])
	}

	// Met again: the condition returns at once, and the period restarts from the new sighting.
	e.obs = Observations{MemoryAvailable: {Available: 50 * mi, Capacity: 4096 * mi}}
	e.sync()
	if !e.m.Pressure(MemoryPressure) {
		t.Error("MemoryPressure not set again when the threshold is met again")
	}
	e.obs = Observations{MemoryAvailable: {Available: 2048 * mi, Capacity: 4096 * mi}}
	e.clock.advance(4 * time.Minute)
	e.sync()
	if !e.m.Pressure(MemoryPressure) {
		t.Error("MemoryPressure dropped 4m after it was last met")
	}
}

func TestSynchronizeSignalsToConditions(t *testing.T) {
	hard := "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%,imagefs.inodesFree<5%,pid.available<1000"
	tests := []struct {
		name       string
		obs        Observations
		usage      PodUsage
		wantCond   string
		wantPrefix string
	}{
		{
			name:       "nodefs.available",
			obs:        Observations{NodeFsAvailable: {Available: 5 * mi, Capacity: 100 * mi}},
			usage:      PodUsage{Disk: 50 * mi},
			wantCond:   "DiskPressure",
			wantPrefix: "The node was low on resource: ephemeral-storage. Threshold quantity: 10Mi, available: 5Mi. ",
		},
		{
			name:       "nodefs.inodesFree",
			obs:        Observations{NodeFsInodesFree: {Available: 40, Capacity: 1000}},
			wantCond:   "DiskPressure",
			wantPrefix: "The node was low on resource: ephemeral-storage. Threshold quantity: 50, available: 40. ",
		},
		{
			name:       "imagefs.available",
			obs:        Observations{ImageFsAvailable: {Available: 10 * mi, Capacity: 100 * mi}},
			wantCond:   "DiskPressure",
			wantPrefix: "The node was low on resource: ephemeral-storage. ",
		},
		{
			name:       "pid.available",
			obs:        Observations{PIDAvailable: {Available: 500, Capacity: 32768}},
			usage:      PodUsage{PIDs: 100},
			wantCond:   "PIDPressure",
			wantPrefix: "The node was low on resource: pids. Threshold quantity: 1000, available: 500. ",
		},
		{
			name:     "signal not observed",
			obs:      Observations{},
			wantCond: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, mustParse(t, hard, "", ""), nil)
			e.obs = tc.obs
			e.pods = []*corev1.Pod{pod("a", withGrace(30))}
			e.usage = map[string]PodUsage{"uid-a": tc.usage}
			got := e.sync()
			if c := e.conditions(); c != tc.wantCond {
				t.Errorf("conditions %q, want %q", c, tc.wantCond)
			}
			if tc.wantPrefix == "" {
				if got != nil {
					t.Errorf("evicted %s", got.GetMetadata().GetName())
				}
				return
			}
			if got == nil || len(e.evicted) != 1 {
				t.Fatalf("evicted %v, want pod a once", e.evictedUIDs())
			}
			c := e.evicted[0]
			if !strings.HasPrefix(c.failure.Message, tc.wantPrefix) || c.failure.Reason != "Evicted" || !c.failure.Disruption || c.grace != 0 {
				t.Errorf("failure %+v grace %v, want message prefix %q", c.failure, c.grace, tc.wantPrefix)
			}
			if strings.Contains(c.failure.Message, "Container") {
				t.Errorf("message %q names containers for a non-memory signal", c.failure.Message)
			}
		})
	}
}

func TestSynchronizeDiskAndPIDRanking(t *testing.T) {
	tests := []struct {
		name   string
		hard   string
		obs    Observations
		pods   []*corev1.Pod
		usage  map[string]PodUsage
		want   string
		reason string
	}{
		{
			name: "disk: over ephemeral-storage request first",
			hard: "nodefs.available<10%",
			obs:  Observations{NodeFsAvailable: {Available: 1 * mi, Capacity: 100 * mi}},
			pods: []*corev1.Pod{
				pod("within", withRequests(false, map[string]string{"ephemeral-storage": "1Gi"})),
				pod("over"),
			},
			usage: map[string]PodUsage{"uid-within": {Disk: 500 * mi}, "uid-over": {Disk: 1 * mi}},
			want:  "over",
		},
		{
			name: "disk: same priority, larger usage",
			hard: "nodefs.available<10%",
			obs:  Observations{NodeFsAvailable: {Available: 1 * mi, Capacity: 100 * mi}},
			pods: []*corev1.Pod{pod("small"), pod("large")},
			usage: map[string]PodUsage{
				"uid-small": {Disk: 10 * mi, Memory: map[string]int64{"c": 900 * mi}},
				"uid-large": {Disk: 20 * mi},
			},
			want: "large",
		},
		{
			name:  "pids: lowest priority, then most processes",
			hard:  "pid.available<1000",
			obs:   Observations{PIDAvailable: {Available: 10, Capacity: 32768}},
			pods:  []*corev1.Pod{pod("many", withPriority(10)), pod("few", withPriority(0)), pod("more", withPriority(0))},
			usage: map[string]PodUsage{"uid-many": {PIDs: 5000}, "uid-few": {PIDs: 10}, "uid-more": {PIDs: 20}},
			want:  "more",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, mustParse(t, tc.hard, "", ""), nil)
			e.obs = tc.obs
			e.pods = tc.pods
			e.usage = tc.usage
			if got := e.sync(); got == nil || got.GetMetadata().GetName() != tc.want {
				t.Fatalf("evicted %v, want %s", e.evictedUIDs(), tc.want)
			}
		})
	}
}

func TestSynchronizeTriesNextPodWhenEvictFails(t *testing.T) {
	e := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), nil)
	e.obs = Observations{MemoryAvailable: {Available: 10 * mi, Capacity: 4096 * mi}}
	e.pods = []*corev1.Pod{pod("first", withPriority(0)), pod("second", withPriority(5)), pod("third", withPriority(10))}
	e.usage = map[string]PodUsage{"uid-first": memUsage(mi), "uid-second": memUsage(mi), "uid-third": memUsage(mi)}
	e.refuse["uid-first"] = true

	got := e.sync()
	if got == nil || got.GetMetadata().GetName() != "second" {
		t.Fatalf("evicted %v, want second after first was gone", got)
	}
	if ids := fmt.Sprint(e.evictedUIDs()); ids != "[uid-first uid-second]" {
		t.Errorf("Evict calls %s, want [uid-first uid-second] (third untouched)", ids)
	}
	for _, ev := range e.rec.events {
		if ev.reason == "Evicted" && ev.object != "second" {
			t.Errorf("Evicted event for %s, which was not evicted", ev.object)
		}
	}

	// All pods gone: nothing reported evicted.
	e2 := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), nil)
	e2.obs = e.obs
	e2.pods = []*corev1.Pod{pod("x"), pod("y")}
	e2.refuse = map[string]bool{"uid-x": true, "uid-y": true}
	if got := e2.sync(); got != nil {
		t.Errorf("reported %s evicted although Evict returned false for every pod", got.GetMetadata().GetName())
	}
	if len(e2.evicted) != 2 {
		t.Errorf("Evict calls %v, want both pods tried", e2.evictedUIDs())
	}
}

func TestSynchronizeMemoryBeforeDisk(t *testing.T) {
	// Disk thresholds are listed first in Config to show the order is the manager's.
	ts := mustParse(t, "nodefs.available<10%,pid.available<1000,memory.available<100Mi", "", "")
	e := newEnv(t, append(ts[1:], ts[0]), nil)
	e.obs = Observations{
		NodeFsAvailable: {Available: 1 * mi, Capacity: 100 * mi},
		MemoryAvailable: {Available: 10 * mi, Capacity: 4096 * mi},
		PIDAvailable:    {Available: 10, Capacity: 32768},
	}
	e.pods = []*corev1.Pod{pod("disk-hog"), pod("mem-hog")}
	e.usage = map[string]PodUsage{
		"uid-disk-hog": {Disk: 90 * mi},
		"uid-mem-hog":  memUsage(2048 * mi),
	}
	got := e.sync()
	if c := e.conditions(); c != "MemoryPressure,DiskPressure,PIDPressure" {
		t.Errorf("conditions %q, want all three", c)
	}
	if got == nil || got.GetMetadata().GetName() != "mem-hog" {
		t.Fatalf("evicted %v, want mem-hog (memory is reclaimed first)", e.evictedUIDs())
	}
	if m := e.evicted[0].failure.Message; !strings.HasPrefix(m, "The node was low on resource: memory. ") {
		t.Errorf("message %q, want the memory signal", m)
	}
	if len(e.evicted) != 1 {
		t.Errorf("Evict calls %v, want 1", e.evictedUIDs())
	}
}

func TestSynchronizeSignalsError(t *testing.T) {
	e := newEnv(t, mustParse(t, "memory.available<100Mi", "", ""), nil)
	e.pods = []*corev1.Pod{pod("a")}
	e.usage = map[string]PodUsage{"uid-a": memUsage(mi)}

	// An error before any pressure: no condition appears.
	e.obsErr = errors.New("cannot read /proc/meminfo")
	if got := e.sync(); got != nil {
		t.Fatalf("evicted %s on a Signals error", got.GetMetadata().GetName())
	}
	if c := e.conditions(); c != "" {
		t.Errorf("conditions %q after a Signals error, want none", c)
	}

	// Under pressure, then errors for longer than the transition period: the
	// condition is left as it was and nothing is evicted.
	e.obsErr = nil
	e.obs = Observations{MemoryAvailable: {Available: 10 * mi, Capacity: 4096 * mi}}
	e.sync()
	n := len(e.evicted)
	e.obsErr = errors.New("cannot read /proc/meminfo")
	for i := 0; i < 3; i++ {
		e.clock.advance(5 * time.Minute)
		if got := e.sync(); got != nil {
			t.Fatalf("evicted %s on a Signals error", got.GetMetadata().GetName())
		}
		if c := e.conditions(); c != "MemoryPressure" {
			t.Errorf("conditions %q after a Signals error, want MemoryPressure unchanged", c)
		}
	}
	if len(e.evicted) != n {
		t.Errorf("Evict called on Signals errors: %v", e.evictedUIDs()[n:])
	}
}

// ---- Admit ----

// pressured returns a manager with the given pressures set through Synchronize.
func pressured(t *testing.T, mem, disk, pid bool) *Manager {
	t.Helper()
	e := newEnv(t, mustParse(t, "memory.available<100Mi,nodefs.available<10%,pid.available<1000", "", ""), nil)
	e.obs = Observations{
		MemoryAvailable: {Available: 2048 * mi, Capacity: 4096 * mi},
		NodeFsAvailable: {Available: 50 * mi, Capacity: 100 * mi},
		PIDAvailable:    {Available: 30000, Capacity: 32768},
	}
	if mem {
		e.obs[MemoryAvailable] = Observation{Available: 10 * mi, Capacity: 4096 * mi}
	}
	if disk {
		e.obs[NodeFsAvailable] = Observation{Available: 1 * mi, Capacity: 100 * mi}
	}
	if pid {
		e.obs[PIDAvailable] = Observation{Available: 10, Capacity: 32768}
	}
	e.sync() // no pods: nothing evicted, only conditions set
	if e.m.Pressure(MemoryPressure) != mem || e.m.Pressure(DiskPressure) != disk || e.m.Pressure(PIDPressure) != pid {
		t.Fatalf("setup: conditions %q", e.conditions())
	}
	return e.m
}

func TestAdmit(t *testing.T) {
	bestEffort := pod("besteffort")
	burstableQoS := pod("burstable-qos", withQoS("Burstable"))
	burstableReq := pod("burstable-req", withRequests(false, map[string]string{"memory": "64Mi"}))
	guaranteed := pod("guaranteed", withQoS("Guaranteed"), withRequests(true, map[string]string{"memory": "64Mi", "cpu": "100m"}))
	storageOnly := pod("storage-only", withRequests(false, map[string]string{"ephemeral-storage": "1Gi"}))
	tolerates := pod("tolerates", withToleration(&corev1.Toleration{Key: "node.kubernetes.io/memory-pressure", Operator: "Exists", Effect: "NoSchedule"}))
	toleratesAll := pod("tolerates-all", withToleration(&corev1.Toleration{Operator: "Exists"}))
	toleratesOther := pod("tolerates-other", withToleration(&corev1.Toleration{Key: "node.kubernetes.io/disk-pressure", Operator: "Exists", Effect: "NoSchedule"}))
	toleratesNoExecute := pod("tolerates-noexecute", withToleration(&corev1.Toleration{Key: "node.kubernetes.io/memory-pressure", Operator: "Exists", Effect: "NoExecute"}))
	toleratesWrongValue := pod("tolerates-wrong-value", withToleration(&corev1.Toleration{Key: "node.kubernetes.io/memory-pressure", Operator: "Equal", Value: "high", Effect: "NoSchedule"}))
	toleratesEqualEmpty := pod("tolerates-equal-empty", withToleration(&corev1.Toleration{Key: "node.kubernetes.io/memory-pressure", Operator: "Equal", Effect: "NoSchedule"}))
	toleratesBadOperator := pod("tolerates-bad-operator", withToleration(&corev1.Toleration{Key: "node.kubernetes.io/memory-pressure", Operator: "Lt", Effect: "NoSchedule"}))
	static := pod("static", withAnnotation("kubernetes.io/config.source", "file"))
	mirror := pod("mirror", withAnnotation("kubernetes.io/config.mirror", "abc"))
	sysCritical := pod("syscritical", withPriority(2000000000))
	almostCritical := pod("almost-critical", withPriority(1999999999))

	const memMsg = "The node had condition: [MemoryPressure]. "
	tests := []struct {
		name           string
		mem, disk, pid bool
		pod            *corev1.Pod
		wantMsg        string // "" admits
	}{
		{"no pressure, best effort", false, false, false, bestEffort, ""},
		{"no pressure, burstable", false, false, false, burstableReq, ""},

		{"memory, best effort", true, false, false, bestEffort, memMsg},
		{"memory, ephemeral-storage request only is best effort", true, false, false, storageOnly, memMsg},
		{"memory, non-critical priority", true, false, false, almostCritical, memMsg},
		{"memory, burstable by status.qosClass", true, false, false, burstableQoS, ""},
		{"memory, burstable by memory request", true, false, false, burstableReq, ""},
		{"memory, guaranteed", true, false, false, guaranteed, ""},
		{"memory, tolerates memory-pressure", true, false, false, tolerates, ""},
		{"memory, tolerates everything", true, false, false, toleratesAll, ""},
		{"memory, tolerates memory-pressure with Equal and no value", true, false, false, toleratesEqualEmpty, ""},
		{"memory, tolerates another taint", true, false, false, toleratesOther, memMsg},
		{"memory, tolerates only NoExecute", true, false, false, toleratesNoExecute, memMsg},
		{"memory, toleration value does not match the taint's", true, false, false, toleratesWrongValue, memMsg},
		{"memory, toleration with an unknown operator", true, false, false, toleratesBadOperator, memMsg},

		{"disk, burstable", false, true, false, burstableReq, "The node had condition: [DiskPressure]. "},
		{"disk, guaranteed", false, true, false, guaranteed, "The node had condition: [DiskPressure]. "},
		{"disk, tolerates memory-pressure", false, true, false, tolerates, "The node had condition: [DiskPressure]. "},
		{"pid, burstable", false, false, true, burstableQoS, "The node had condition: [PIDPressure]. "},
		{"memory and disk, burstable", true, true, false, burstableReq, "The node had condition: [MemoryPressure DiskPressure]. "},

		{"all pressures, static", true, true, true, static, ""},
		{"all pressures, mirror", true, true, true, mirror, ""},
		{"all pressures, system-critical priority", true, true, true, sysCritical, ""},
		{"memory, static best effort", true, false, false, static, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := pressured(t, tc.mem, tc.disk, tc.pid)
			f := m.Admit(tc.pod)
			if tc.wantMsg == "" {
				if f != nil {
					t.Fatalf("rejected: %+v", f)
				}
				return
			}
			if f == nil {
				t.Fatalf("admitted, want rejection %q", tc.wantMsg)
			}
			if f.Reason != "Evicted" || f.Message != tc.wantMsg {
				t.Errorf("failure %+v, want Reason Evicted, Message %q", f, tc.wantMsg)
			}
		})
	}
}

// TestConcurrentUse runs Synchronize, Admit and Pressure together for the race detector.
func TestConcurrentUse(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	m := New(Config{
		Thresholds:               mustParse(t, "memory.available<100Mi", "", ""),
		PressureTransitionPeriod: time.Minute,
		Signals: func() (Observations, error) {
			return Observations{MemoryAvailable: {Available: 10 * mi, Capacity: 4096 * mi}}, nil
		},
		Pods:  func() []*corev1.Pod { return []*corev1.Pod{pod("a")} },
		Usage: func(context.Context, []*corev1.Pod) map[string]PodUsage { return nil },
		Evict: func(string, *status.Failure, time.Duration) bool { return true },
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Second)
			return now
		},
	})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				m.Synchronize(context.Background())
				m.Admit(pod("new"))
				m.Pressure(MemoryPressure)
			}
		}()
	}
	wg.Wait()
	if !m.Pressure(MemoryPressure) {
		t.Error("MemoryPressure not set")
	}
}
