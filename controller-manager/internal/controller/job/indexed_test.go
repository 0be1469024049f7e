package job

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apiservertest"
)

func TestIntervals(t *testing.T) {
	for _, tt := range []struct {
		indexes []int
		want    string
	}{
		{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1}, "0,1"}, {[]int{2, 0, 1, 4}, "0-2,4"},
		{[]int{7, 1, 3, 4, 5, 8, 1}, "1,3-5,7,8"}, {[]int{9, 3, 4, 5, 6}, "3-6,9"},
	} {
		iv := Intervals(nil).With(tt.indexes...)
		if got := iv.String(); got != tt.want {
			t.Errorf("With(%v).String() = %q, want %q", tt.indexes, got, tt.want)
		}
		if back := ParseIndexes(tt.want, 100); back.String() != tt.want || back.Total() != iv.Total() {
			t.Errorf("ParseIndexes(%q) = %q (%d)", tt.want, back, back.Total())
		}
	}
	iv := ParseIndexes("1,3-5,7,8", 100)
	for i, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 5: true, 6: false, 8: true, 9: false} {
		if iv.Has(i) != want {
			t.Errorf("Has(%d) = %v", i, !want)
		}
	}
	if iv.Total() != 6 {
		t.Errorf("Total = %d, want 6", iv.Total())
	}
	// Out of range indexes (completions scaled down) and malformed parts are dropped.
	for in, want := range map[string]string{"0-9": "0-3", "2,x,5-3,-1,3": "2,3", "1-2,2-3": "1-3", "6": ""} {
		if got := ParseIndexes(in, 4).String(); got != want {
			t.Errorf("ParseIndexes(%q, 4) = %q, want %q", in, got, want)
		}
	}
}

func TestIndexedJob(t *testing.T) {
	s := apiservertest.Start(t)
	h := &harness{t: t, cs: s.Client}
	stop := h.startController()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	failedThree, releaseThree := false, false
	var dup string
	h.kubelet(ctx, "idx", func(p *corev1.Pod) *corev1.PodStatus {
		mu.Lock()
		defer mu.Unlock()
		byIndex := map[string]int{}
		for _, q := range h.pods("idx") {
			if ph := q.GetStatus().GetPhase(); ph != "Succeeded" && ph != "Failed" && q.GetMetadata().GetDeletionTimestamp() == nil {
				if byIndex[q.GetMetadata().GetAnnotations()[CompletionIndexAnnotation]]++; byIndex[q.GetMetadata().GetAnnotations()[CompletionIndexAnnotation]] > 1 && dup == "" {
					dup = fmt.Sprint(byIndex)
				}
			}
		}
		// Index 3 fails once, then its second pod runs until released.
		switch p.GetMetadata().GetAnnotations()[CompletionIndexAnnotation] {
		case "3":
			if !failedThree {
				failedThree = true
				return finishedStatus("Failed", time.Now())
			}
			if !releaseThree {
				return nil
			}
		}
		return finishedStatus("Succeeded", time.Now())
	})
	mode := IndexedCompletion
	h.createJob("idx", &batchv1.JobSpec{Parallelism: i32(2), Completions: i32(5), CompletionMode: &mode})
	j := h.waitJob("idx", "indexes 0-2,4 done", func(j *batchv1.Job) bool { return j.GetStatus().GetCompletedIndexes() == "0-2,4" })
	if st := j.GetStatus(); st.GetSucceeded() != 4 || condition(j, ConditionComplete) != nil {
		t.Errorf("with index 3 running: status %v", st)
	}
	mu.Lock()
	releaseThree = true
	mu.Unlock()
	j = h.waitJob("idx", "Complete", func(j *batchv1.Job) bool { return condition(j, ConditionComplete) != nil })
	if st := j.GetStatus(); st.GetCompletedIndexes() != "0-4" || st.GetSucceeded() != 5 || st.GetFailed() != 1 || st.GetActive() != 0 {
		t.Errorf("complete: status %v", st)
	}
	mu.Lock()
	if dup != "" {
		t.Errorf("two active pods of one index: %s", dup)
	}
	mu.Unlock()

	perIndex := map[int]int{}
	for _, p := range h.pods("idx") {
		md := p.GetMetadata()
		ix := md.GetAnnotations()[CompletionIndexAnnotation]
		i, err := strconv.Atoi(ix)
		if err != nil || md.GetLabels()[CompletionIndexLabel] != ix {
			t.Fatalf("pod %s: annotation %q label %q", md.GetName(), ix, md.GetLabels()[CompletionIndexLabel])
		}
		perIndex[i]++
		if md.GetGenerateName() != fmt.Sprintf("idx-%d-", i) || p.GetSpec().GetHostname() != fmt.Sprintf("idx-%d", i) {
			t.Errorf("pod %s: generateName %q hostname %q", md.GetName(), md.GetGenerateName(), p.GetSpec().GetHostname())
		}
		env := p.GetSpec().GetContainers()[0].GetEnv()
		if len(env) != 1 || env[0].GetName() != "JOB_COMPLETION_INDEX" ||
			env[0].GetValueFrom().GetFieldRef().GetFieldPath() != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("pod %s: env %v", md.GetName(), env)
		}
	}
	if fmt.Sprint(perIndex) != "map[0:1 1:1 2:1 3:2 4:1]" {
		t.Errorf("pods per index %v, want one each and a second for the failed index 3", perIndex)
	}
}
