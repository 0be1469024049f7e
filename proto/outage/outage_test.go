package outage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type line struct {
	failed bool
	msg    string
	kv     []any
}

type capture struct {
	mu    sync.Mutex
	lines []line
}

func (c *capture) log(failed bool, msg string, kv ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, line{failed, msg, kv})
}

func (c *capture) take() []line {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.lines
	c.lines = nil
	return out
}

// TestReporterRate: the first failure is logged at once, later ones only when the quiet
// interval (doubling, capped) has passed, a recovery once, and a new outage at once again.
func TestReporterRate(t *testing.T) {
	var c capture
	now := time.Unix(1000, 0)
	r := &Reporter{
		Message:   func(cause string) string { return "Cannot reach X (" + cause + ")" },
		Recovered: "Reached X",
		First:     5 * time.Second, Max: 20 * time.Second,
		Log: c.log, Now: func() time.Time { return now },
	}
	r.Success() // not down: nothing to say
	if got := c.take(); len(got) != 0 {
		t.Fatalf("success while up logged %v", got)
	}
	// One failure every second for 60s: lines at 0s, 5s, 15s (5+10), 35s (15+20), 55s.
	var at []int
	for s := 0; s <= 60; s++ {
		r.Failure("connection refused")
		if got := c.take(); len(got) > 0 {
			if len(got) != 1 || !got[0].failed || got[0].msg != "Cannot reach X (connection refused)" {
				t.Fatalf("at %ds: %+v", s, got)
			}
			at = append(at, s)
			if s == 5 && fmt.Sprint(got[0].kv) != "[unreachableFor 5s failedAttempts 5]" {
				t.Errorf("second line's details: %v", got[0].kv)
			}
		}
		now = now.Add(time.Second)
	}
	if fmt.Sprint(at) != "[0 5 15 35 55]" {
		t.Errorf("failure lines at %v s; want [0 5 15 35 55]", at)
	}
	if !r.Down() {
		t.Error("Down() = false during the outage")
	}
	r.Success()
	r.Success()
	got := c.take()
	if len(got) != 1 || got[0].failed || got[0].msg != "Reached X" || fmt.Sprint(got[0].kv) != "[after 1m1s]" {
		t.Fatalf("recovery lines: %+v", got)
	}
	// A new outage is news: logged at once, with the short interval again.
	r.Failure("timed out")
	now = now.Add(5 * time.Second)
	r.Failure("timed out")
	got = c.take()
	if len(got) != 2 || got[0].msg != "Cannot reach X (timed out)" {
		t.Fatalf("second outage: %+v", got)
	}
}

// TestReporterConcurrent: many goroutines failing at once log the outage once.
func TestReporterConcurrent(t *testing.T) {
	var c capture
	r := &Reporter{Message: func(cause string) string { return cause }, Recovered: "back", Log: c.log}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			r.Failure("connection refused")
			r.Success()
			r.Failure("connection refused")
		})
	}
	wg.Wait()
	for _, l := range c.take() {
		if l.failed && l.msg != "connection refused" || !l.failed && l.msg != "back" {
			t.Errorf("unexpected line %+v", l)
		}
	}
	if !r.Down() {
		t.Error("the last attempts failed: Down() must be true")
	}
}

func TestCause(t *testing.T) {
	cases := map[string]string{
		`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`: "connection refused",
		`dial tcp: lookup nowhere.invalid: no such host`:          "no such host",
		`dial tcp 192.0.2.1:2379: i/o timeout`:                    "timed out",
		`context deadline exceeded`:                               "timed out",
		`error reading server preface: http2: frame too large`:    "the server does not speak gRPC (wrong port?)",
		`something nobody has seen before: it is all broken here`: `something nobody has seen before: it is all broken here`,
	}
	for in, want := range cases {
		if got := Cause(errors.New(in)); got != want {
			t.Errorf("Cause(%q) = %q; want %q", in, got, want)
		}
	}
	if Cause(nil) != "" {
		t.Error("Cause(nil) must be empty")
	}
	if strings.Contains(Cause(errors.New("x: connection refused")), "x:") {
		t.Error("the cause must drop the context before it")
	}
}
