package job

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/klog/v2"

	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
)

// What an Indexed job's pods carry, as upstream: the index as annotation and label, and
// in every container as JOB_COMPLETION_INDEX (through a fieldRef on the annotation).
const (
	IndexedCompletion         = "Indexed"
	CompletionIndexAnnotation = "batch.kubernetes.io/job-completion-index"
	CompletionIndexLabel      = CompletionIndexAnnotation
	CompletionIndexEnvName    = "JOB_COMPLETION_INDEX"

	// maxGeneratedNameLength is how long a generateName may be for the 5 random
	// characters the apiserver appends to still fit a 63-character name.
	maxGeneratedNameLength = 63 - 5
)

func isIndexed(j *batchv1.Job) bool { return j.GetSpec().GetCompletionMode() == IndexedCompletion }

// interval is a run of consecutive indexes, first to last inclusive.
type interval struct{ first, last int }

// Intervals is a set of indexes as sorted, disjoint, non-adjacent intervals: the form
// status.completedIndexes is written in.
type Intervals []interval

// String is upstream's compressed form: intervals joined by commas, a run of three or
// more as "first-last", two neighbours as "a,b" ("1,3-5,7,8").
func (iv Intervals) String() string {
	var b strings.Builder
	for _, v := range iv {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v.first))
		if v.last > v.first {
			if v.last == v.first+1 {
				b.WriteByte(',')
			} else {
				b.WriteByte('-')
			}
			b.WriteString(strconv.Itoa(v.last))
		}
	}
	return b.String()
}

// Total is how many indexes the set holds.
func (iv Intervals) Total() int {
	n := 0
	for _, v := range iv {
		n += v.last - v.first + 1
	}
	return n
}

// Has reports whether index i is in the set.
func (iv Intervals) Has(i int) bool {
	k := sort.Search(len(iv), func(k int) bool { return iv[k].last >= i })
	return k < len(iv) && iv[k].first <= i
}

// With returns the set plus the given indexes.
func (iv Intervals) With(indexes ...int) Intervals {
	all := make([]int, 0, iv.Total()+len(indexes))
	for _, v := range iv {
		for i := v.first; i <= v.last; i++ {
			all = append(all, i)
		}
	}
	return intervalsOf(append(all, indexes...))
}

func intervalsOf(indexes []int) Intervals {
	sort.Ints(indexes)
	var out Intervals
	for _, i := range indexes {
		if n := len(out); n > 0 && i <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, i)
			continue
		}
		out = append(out, interval{i, i})
	}
	return out
}

// ParseIndexes reads the compressed form, keeping only indexes below completions; parts
// that do not parse are skipped (and logged): status is the controller's own writing,
// and a damaged part costs at most a rerun of those indexes.
func ParseIndexes(s string, completions int) Intervals {
	if s == "" {
		return nil
	}
	var all []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(lo)
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || first < 0 || last < first {
			klog.V(2).InfoS("Ignoring a malformed part of completedIndexes", "part", part, "completedIndexes", s)
			continue
		}
		for i := first; i <= min(last, completions-1); i++ {
			all = append(all, i)
		}
	}
	return intervalsOf(all)
}

// completionIndex is a pod's index from its annotation, or -1 when it has none valid.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.GetMetadata().GetAnnotations()[CompletionIndexAnnotation]
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return -1
	}
	return i
}

// succeededIndexes are the indexes recorded in status plus those of succeeded pods:
// once recorded, an index stays done even when its pod is deleted.
func succeededIndexes(j *batchv1.Job, pods []*corev1.Pod) Intervals {
	completions := int(j.GetSpec().GetCompletions())
	done := ParseIndexes(j.GetStatus().GetCompletedIndexes(), completions)
	var more []int
	for _, p := range pods {
		if i := completionIndex(p); p.GetStatus().GetPhase() == "Succeeded" && i >= 0 && i < completions {
			more = append(more, i)
		}
	}
	return done.With(more...)
}

// splitByIndex separates the active pods worth keeping (one per index not yet done)
// from the rest: pods without a valid index, of an index already done, or a second pod
// of an index.
func splitByIndex(active []*corev1.Pod, done Intervals, completions int) (keep, extra []*corev1.Pod) {
	seen := map[int]bool{}
	for _, p := range active {
		i := completionIndex(p)
		if i < 0 || i >= completions || done.Has(i) || seen[i] {
			extra = append(extra, p)
			continue
		}
		seen[i] = true
		keep = append(keep, p)
	}
	return keep, extra
}

// pendingIndexes returns up to n of the lowest indexes neither done nor running.
func pendingIndexes(done Intervals, active []*corev1.Pod, n, completions int) []int {
	running := map[int]bool{}
	for _, p := range active {
		running[completionIndex(p)] = true
	}
	var out []int
	for i := 0; i < completions && len(out) < n; i++ {
		if !done.Has(i) && !running[i] {
			out = append(out, i)
		}
	}
	return out
}

// indexedPod sets up pod (fresh from the template) for index i, as upstream: the index
// annotation and label, the JOB_COMPLETION_INDEX env of every container, hostname
// JOB-INDEX, and a name JOB-INDEX-xxxxx.
func indexedPod(pod *corev1.Pod, job string, i int) {
	md := pod.Metadata
	md.Annotations = withEntry(md.Annotations, CompletionIndexAnnotation, strconv.Itoa(i))
	md.Labels = withEntry(md.Labels, CompletionIndexLabel, strconv.Itoa(i))
	suffix := "-" + strconv.Itoa(i) + "-"
	prefix := job
	if len(prefix)+len(suffix) > maxGeneratedNameLength {
		prefix = prefix[:maxGeneratedNameLength-len(suffix)]
	}
	md.GenerateName = prefix + suffix
	pod.Spec.Hostname = fmt.Sprintf("%s-%d", job, i)
	for _, c := range append(append([]*corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		addIndexEnv(c)
	}
}

func addIndexEnv(c *corev1.Container) {
	for _, e := range c.Env {
		if e.GetName() == CompletionIndexEnvName {
			return // the user's own wins
		}
	}
	c.Env = append(c.Env, &corev1.EnvVar{Name: CompletionIndexEnvName, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.annotations['%s']", CompletionIndexAnnotation)},
	}})
}

// withEntry returns a copy of m (the template's, shared) with k set to v.
func withEntry(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}
