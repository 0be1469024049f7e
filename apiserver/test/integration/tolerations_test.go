package integration

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"kube5/apiserver/app/options"
	corev1 "kube5/proto/api/core/v1"
)

// tolerationsOf renders a pod's tolerations as "key:operator:effect:seconds" in order,
// seconds "-" when unset.
func tolerationsOf(p *corev1.Pod) []string {
	var out []string
	for _, t := range p.GetSpec().GetTolerations() {
		s := "-"
		if t.TolerationSeconds != nil {
			s = fmt.Sprint(t.GetTolerationSeconds())
		}
		out = append(out, strings.Join([]string{t.GetKey(), t.GetOperator(), t.GetEffect(), s}, ":"))
	}
	sort.Strings(out)
	return out
}

// TestDefaultTolerationSeconds: every pod gets NoExecute tolerations of the not-ready and
// unreachable node taints, for 300 seconds by default and for what
// --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds
// say otherwise (upstream's DefaultTolerationSeconds admission plugin): how long pods stay
// on a node that failed before the node lifecycle controller evicts them. A pod that
// already tolerates a taint keeps its own toleration.
func TestDefaultTolerationSeconds(t *testing.T) {
	const notReady, unreachable = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"
	t.Run("defaults", func(t *testing.T) {
		ts := start(t)
		ns := newNamespace(t, ts.Client, "tol")
		p, err := ts.Client.Pods(ns).Create(ctxFor(t), newPod(ns, "p", nil))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{notReady + ":Exists:NoExecute:300", unreachable + ":Exists:NoExecute:300"}
		if got := tolerationsOf(p); !sameStrings(got, want) {
			t.Errorf("tolerations %v, want %v", got, want)
		}
	})

	t.Run("flags", func(t *testing.T) {
		ts := start(t, func(o *options.Options) {
			o.DefaultNotReadyTolerationSeconds = 7
			o.DefaultUnreachableTolerationSeconds = 0
		})
		ns := newNamespace(t, ts.Client, "tol")
		pods := ts.Client.Pods(ns)
		ctx := ctxFor(t)
		tests := []struct {
			name string
			have []*corev1.Toleration
			want []string
		}{
			{"none", nil, []string{notReady + ":Exists:NoExecute:7", unreachable + ":Exists:NoExecute:0"}},
			{"own not-ready", []*corev1.Toleration{{Key: notReady, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: int64p(60)}},
				[]string{notReady + ":Exists:NoExecute:60", unreachable + ":Exists:NoExecute:0"}},
			{"own unreachable, any effect", []*corev1.Toleration{{Key: unreachable, Operator: "Exists"}},
				[]string{notReady + ":Exists:NoExecute:7", unreachable + ":Exists::-"}},
			{"not-ready NoSchedule only", []*corev1.Toleration{{Key: notReady, Operator: "Exists", Effect: "NoSchedule"}},
				[]string{notReady + ":Exists:NoExecute:7", notReady + ":Exists:NoSchedule:-", unreachable + ":Exists:NoExecute:0"}},
			{"tolerates everything", []*corev1.Toleration{{Operator: "Exists"}}, []string{":Exists::-"}},
		}
		for i, tt := range tests {
			sort.Strings(tt.want)
			in := newPod(ns, fmt.Sprintf("p%d", i), nil)
			in.Spec.Tolerations = tt.have
			p, err := pods.Create(ctx, in)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := tolerationsOf(p); !sameStrings(got, tt.want) {
				t.Errorf("%s: tolerations %v, want %v", tt.name, got, tt.want)
			}
			// What is stored is what a reader gets.
			back, err := pods.Get(ctx, p.Metadata.Name)
			if err != nil {
				t.Fatal(err)
			}
			if got := tolerationsOf(back); !sameStrings(got, tt.want) {
				t.Errorf("%s: read back tolerations %v, want %v", tt.name, got, tt.want)
			}
		}
	})

	t.Run("negative", func(t *testing.T) {
		o := options.New()
		o.DefaultNotReadyTolerationSeconds = -1
		o.DefaultUnreachableTolerationSeconds = -5
		var msgs []string
		for _, err := range o.Validate() {
			msgs = append(msgs, err.Error())
		}
		all := strings.Join(msgs, "\n")
		for _, flag := range []string{"--default-not-ready-toleration-seconds", "--default-unreachable-toleration-seconds"} {
			if !strings.Contains(all, flag) {
				t.Errorf("Validate does not name %s for a negative value: %q", flag, all)
			}
		}
	})
}

func int64p(v int64) *int64 { return &v }
