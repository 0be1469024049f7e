package nodestatus

import (
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/klog/v2"

	coordinationv1 "kube5/proto/api/coordination/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
)

// syncBuffer is a bytes.Buffer klog may write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	klog.Flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureKlog sends klog's output, at -v=2, to a buffer until the test ends.
func captureKlog(t *testing.T) *syncBuffer {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if err := fs.Set("v", "2"); err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	klog.LogToStderr(false)
	klog.SetOutputBySeverity("INFO", buf) // INFO gets every severity; the others would repeat lines
	t.Cleanup(func() {
		_ = fs.Set("v", "0")
		klog.SetOutput(os.Stderr)
		klog.LogToStderr(true)
	})
	return buf
}

// count counts the lines of severity sev ('E', 'I') that contain msg.
func count(log string, sev byte, msg string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if len(l) > 0 && l[0] == sev && strings.Contains(l, msg) {
			n++
		}
	}
	return n
}

func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestApiserverOutageIsReportedNotFlooded: a registered kubelet whose apiserver goes away
// keeps retrying its node status and lease, but its log says so through the apiserver's
// outage reporter only: one line naming the address, the cause and --kubeconfig, however
// many attempts fail, and one line when the apiserver is back; the retries themselves
// are V(2) lines, never an error line each.
func TestApiserverOutageIsReportedNotFlooded(t *testing.T) {
	api := apiservertest.Start(t)
	logs := captureKlog(t)
	c, err := client.New(client.Config{Server: api.URL, ServerFlag: "--kubeconfig kubelet.conf", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Both loops every 20ms, each round sending: an outage of a second or two is then
	// as many failed attempts as half an hour at the default 10s.
	n := New(Config{
		NodeName: "outage", NodeIP: "127.0.0.1", Hostname: "outage", MaxPods: 110, Port: 10250,
		Machine:         Machine{CPUs: 1, MemoryBytes: 1 << 30},
		RuntimeVersion:  func(context.Context) (string, error) { return "fake://1.0", nil },
		UpdateFrequency: 20 * time.Millisecond, ReportInterval: time.Nanosecond, LeaseInterval: 20 * time.Millisecond,
	}, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-n.Registered():
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not register within 30s")
	}

	poll(t, 30*time.Second, "the node lease", func() bool {
		_, err := api.Client.Leases(LeaseNamespace).Get(context.Background(), "outage")
		return err == nil
	})

	api.Stop()
	const attempts = 25
	poll(t, 30*time.Second, "25 failed status updates and lease renewals", func() bool {
		l := logs.String()
		return count(l, 'I', "Updating node status failed") >= attempts && count(l, 'I', "Renewing the node lease failed") >= attempts
	})
	l := logs.String()
	for _, msg := range []string{"Updating node status failed", "Renewing the node lease failed"} {
		if n := count(l, 'E', msg); n > 0 {
			t.Errorf("%d error lines %q while the apiserver was down: one per attempt is a flood", n, msg)
		}
	}
	want := regexp.MustCompile(`E.*Cannot reach the apiserver at ` + regexp.QuoteMeta(api.URL) +
		` \(connection refused\); is kube-apiserver running\? Check --kubeconfig kubelet.conf. Retrying.`)
	if got := len(want.FindAllString(l, -1)); got != 1 {
		t.Errorf("want exactly one line %q in the first seconds of the outage, got %d; log:\n%s", want, got, l)
	}

	api.Restart(t)
	poll(t, 30*time.Second, "the recovery line", func() bool {
		return strings.Contains(logs.String(), "Reached the apiserver at "+api.URL)
	})
	// The status loop may be back before the lease loop: wait for a read of the lease.
	var before *coordinationv1.Lease
	poll(t, 30*time.Second, "the lease readable after the outage", func() bool {
		var err error
		before, err = api.Client.Leases(LeaseNamespace).Get(context.Background(), "outage")
		return err == nil
	})
	poll(t, 30*time.Second, "the lease renewed after the outage", func() bool {
		l, err := api.Client.Leases(LeaseNamespace).Get(context.Background(), "outage")
		return err == nil && l.GetMetadata().GetResourceVersion() != before.GetMetadata().GetResourceVersion()
	})
}
