package describe

import (
	"bytes"
	"context"
	"strings"
	"testing"

	batchv1 "kube5/proto/api/batch/v1"
	"kube5/proto/scheme"
)

func TestDescribeIndexedJob(t *testing.T) {
	res, ok := scheme.For(&batchv1.Job{})
	if !ok {
		t.Fatal("no Job resource")
	}
	job := func(indexes string) string {
		var out bytes.Buffer
		obj := map[string]any{
			"metadata": map[string]any{"name": "idx", "namespace": "default"},
			"spec":     map[string]any{"completions": int64(5), "parallelism": int64(2), "completionMode": "Indexed"},
			"status":   map[string]any{"succeeded": int64(4), "completedIndexes": indexes},
		}
		if err := Describe(context.Background(), nil, &out, res, obj, false); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for indexes, want := range map[string]string{
		"0-2,4": "Completed Indexes:  0-2,4\n",
		"":      "Completed Indexes:  <none>\n",
		// Long lists are cut after the first comma past 50 characters, as upstream.
		strings.Repeat("1000,", 12) + "7": "Completed Indexes:  " + strings.Repeat("1000,", 11) + "...\n",
	} {
		out := job(indexes)
		if !strings.Contains(out, "Completion Mode:    Indexed\n") || !strings.Contains(out, want) {
			t.Errorf("completedIndexes %q: describe printed\n%s\nwant a line %q", indexes, out, want)
		}
	}
}

func TestLabelSelectorString(t *testing.T) {
	for _, tc := range []struct {
		sel  map[string]any
		want string
	}{
		{nil, "<none>"},
		{map[string]any{"matchLabels": map[string]any{"tier": "front", "app": "web"}}, "app=web,tier=front"},
		{map[string]any{
			"matchLabels": map[string]any{"b": "1"},
			"matchExpressions": []any{
				map[string]any{"key": "c", "operator": "NotIn", "values": []any{"y", "x"}},
				map[string]any{"key": "a", "operator": "In", "values": []any{"p"}},
				map[string]any{"key": "d", "operator": "Exists"},
				map[string]any{"key": "e", "operator": "DoesNotExist"},
			},
		}, "a in (p),b=1,c notin (x,y),d,!e"},
	} {
		if got := labelSelectorString(tc.sel); got != tc.want {
			t.Errorf("labelSelectorString(%v) = %q, want %q", tc.sel, got, tc.want)
		}
	}
}
