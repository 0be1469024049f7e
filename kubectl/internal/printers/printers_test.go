package printers

import (
	"testing"
	"time"

	u "kube5/kubectl/internal/unstructured"
)

func TestHumanDuration(t *testing.T) {
	cases := map[time.Duration]string{
		-5 * time.Second:              "<invalid>",
		0:                             "0s",
		59 * time.Second:              "59s",
		119 * time.Second:             "119s",
		2*time.Minute + 3*time.Second: "2m3s",
		5 * time.Minute:               "5m",
		45 * time.Minute:              "45m",
		3*time.Hour + 20*time.Minute:  "3h20m",
		9 * time.Hour:                 "9h",
		50 * time.Hour:                "2d2h",
		12 * 24 * time.Hour:           "12d",
		(2*365 + 30) * 24 * time.Hour: "2y30d",
		9 * 365 * 24 * time.Hour:      "9y",
	}
	for d, want := range cases {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPodStatus(t *testing.T) {
	cases := []struct{ name, pod, want string }{
		{"pending", `{"spec":{"containers":[{}]},"status":{"phase":"Pending"}}`, "Pending"},
		{"running", `{"spec":{"containers":[{}]},"status":{"phase":"Running","containerStatuses":[{"ready":true,"state":{"running":{}}}]}}`, "Running"},
		{"creating", `{"spec":{"containers":[{}]},"status":{"phase":"Pending","containerStatuses":[{"state":{"waiting":{"reason":"ContainerCreating"}}}]}}`, "ContainerCreating"},
		{"exit code", `{"spec":{"containers":[{}]},"status":{"phase":"Failed","containerStatuses":[{"state":{"terminated":{"exitCode":3}}}]}}`, "ExitCode:3"},
		{"signal", `{"spec":{"containers":[{}]},"status":{"phase":"Failed","containerStatuses":[{"state":{"terminated":{"exitCode":137,"signal":9}}}]}}`, "Signal:9"},
		{"completed but one running", `{"spec":{"containers":[{},{}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"False"}],"containerStatuses":[{"ready":true,"state":{"running":{}}},{"state":{"terminated":{"reason":"Completed"}}}]}}`, "NotReady"},
		{"init failed", `{"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"Pending","initContainerStatuses":[{"state":{"terminated":{"exitCode":1,"reason":"Error"}}}]}}`, "Init:Error"},
		{"init waiting", `{"spec":{"initContainers":[{},{}],"containers":[{}]},"status":{"phase":"Pending","initContainerStatuses":[{"state":{"terminated":{"exitCode":0}}},{"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}`, "Init:CrashLoopBackOff"},
		{"init progress", `{"spec":{"initContainers":[{},{}],"containers":[{}]},"status":{"phase":"Pending","initContainerStatuses":[{"state":{"terminated":{"exitCode":0}}},{"state":{"running":{}}}]}}`, "Init:1/2"},
		{"terminating", `{"metadata":{"deletionTimestamp":"2020-01-01T00:00:00Z"},"spec":{"containers":[{}]},"status":{"phase":"Running"}}`, "Terminating"},
		{"evicted", `{"spec":{"containers":[{}]},"status":{"phase":"Failed","reason":"Evicted"}}`, "Evicted"},
	}
	for _, c := range cases {
		pod, err := u.FromJSON([]byte(c.pod))
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _, _, _ := PodStatus(pod); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestRowWriterKeepsColumnsAligned(t *testing.T) {
	var b []byte
	w := &RowWriter{W: (*bufWriter)(&b)}
	w.Write([]byte("NAME\tSTATUS\tAGE\n"))
	w.Write([]byte("a-long-name\tRunning\t1s\n"))
	w.Write([]byte("b\tPending\t2s\n"))
	want := "NAME   STATUS   AGE\na-long-name   Running   1s\nb             Pending   2s\n"
	if string(b) != want {
		t.Errorf("got:\n%s\nwant:\n%s", b, want)
	}
}

type bufWriter []byte

func (b *bufWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
