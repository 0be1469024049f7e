// Package logs implements kubectl logs and exec. Objects are read over gRPC like every
// other command; the streams use the REST subresources on the same server URL, as
// upstream does: GET pods/{name}/log (plain text, streamed) and pods/{name}/exec (an
// upgraded connection speaking kube5/proto/remotecommand). The apiserver proxies both to
// the pod's kubelet.
package logs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/client"
)

// LogOptions are the flags of kubectl logs, kept in the form pods/log takes them.
type LogOptions struct {
	Container      string
	Follow         bool
	Previous       bool
	Tail           int64
	Timestamps     bool
	SinceSeconds   string
	SinceTime      string
	Selector       string
	AllContainers  bool
	Prefix         bool
	MaxLogRequests int
}

// source is one container's log stream.
type source struct {
	pod, container string
}

// NewLogsCommand returns `kubectl logs`.
func NewLogsCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &LogOptions{}
	cmd := &cobra.Command{
		Use:   "logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]",
		Short: "Print the logs for a container in a pod",
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Selector != "" && len(args) > 0 {
				return fmt.Errorf("only one of selector or pod name may be specified")
			}
			if o.AllContainers && o.Container != "" {
				return fmt.Errorf("--all-containers=true should not be specified with container name %s", o.Container)
			}
			if o.SinceSeconds != "" && o.SinceTime != "" {
				return fmt.Errorf("at most one of `sinceTime` or `sinceSeconds` may be specified")
			}
			// Upstream shows the last 10 lines of each pod with a selector, all without.
			if o.Selector != "" && !cmd.Flags().Changed("tail") {
				o.Tail = 10
			}
			q, err := o.query()
			if err != nil {
				return err
			}
			pods, _, err := resolve(cmd.Context(), f, s.ErrOut, args, o.Selector, o.Container)
			if err != nil {
				return err
			}
			var sources []source
			for _, p := range pods {
				switch {
				case o.AllContainers:
					for _, c := range append(u.Maps(p, "spec", "initContainers"), u.Maps(p, "spec", "containers")...) {
						sources = append(sources, source{u.Name(p), u.String(c, "name")})
					}
				case o.Container != "":
					sources = append(sources, source{u.Name(p), o.Container})
				default:
					sources = append(sources, source{u.Name(p), defaultContainer(p, s.ErrOut)})
				}
			}
			base, err := f.ServerURL()
			if err != nil {
				return err
			}
			ns, _, err := f.DefaultNamespace()
			if err != nil {
				return err
			}
			prefix := func(src source) string {
				if !o.Prefix {
					return ""
				}
				return fmt.Sprintf("[pod/%s/%s] ", src.pod, src.container)
			}
			logURL := func(src source) string {
				sq := url.Values{}
				for k, v := range q {
					sq[k] = v
				}
				sq.Set("container", src.container)
				return fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/log?%s", base, url.PathEscape(ns), url.PathEscape(src.pod), sq.Encode())
			}
			if o.Follow && len(sources) > 1 {
				if len(sources) > o.MaxLogRequests {
					return fmt.Errorf("you are attempting to follow %d log streams, but maximum allowed concurrency is %d, use --max-log-requests to increase the limit", len(sources), o.MaxLogRequests)
				}
				return followAll(cmd.Context(), s.Out, sources, logURL, prefix)
			}
			for _, src := range sources {
				if err := streamLog(cmd.Context(), logURL(src), newLineWriter(s.Out, nil, prefix(src))); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Container, "container", "c", "", "Print the logs of this container")
	fl.BoolVarP(&o.Follow, "follow", "f", false, "Specify if the logs should be streamed.")
	fl.BoolVarP(&o.Previous, "previous", "p", false, "If true, print the logs for the previous instance of the container in a pod if it exists.")
	fl.Int64Var(&o.Tail, "tail", -1, "Lines of recent log file to display. Defaults to -1 with no selector, showing all log lines otherwise 10, if a selector is provided.")
	fl.BoolVar(&o.Timestamps, "timestamps", false, "Include timestamps on each line in the log output")
	fl.StringVar(&o.SinceSeconds, "since", "", "Only return logs newer than a relative duration like 5s, 2m, or 3h.")
	fl.StringVar(&o.SinceTime, "since-time", "", "Only return logs after a specific date (RFC3339).")
	fl.StringVarP(&o.Selector, "selector", "l", "", "Selector (label query) to filter on.")
	fl.BoolVar(&o.AllContainers, "all-containers", false, "Get all containers' logs in the pod(s).")
	fl.BoolVar(&o.Prefix, "prefix", false, "Prefix each log line with the log source (pod name and container name)")
	fl.IntVar(&o.MaxLogRequests, "max-log-requests", 5, "Specify maximum number of concurrent logs to follow when using by a selector.")
	return cmd
}

// query is the pods/log query of the flags (without the container).
func (o *LogOptions) query() (url.Values, error) {
	q := url.Values{}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Previous {
		q.Set("previous", "true")
	}
	if o.Timestamps {
		q.Set("timestamps", "true")
	}
	if o.Tail >= 0 {
		q.Set("tailLines", strconv.FormatInt(o.Tail, 10))
	}
	var since time.Duration
	switch {
	case o.SinceSeconds != "":
		d, err := time.ParseDuration(o.SinceSeconds)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--since\" flag: %v", o.SinceSeconds, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("--since must be greater than 0")
		}
		since = d
	case o.SinceTime != "":
		t, err := time.Parse(time.RFC3339, o.SinceTime)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--since-time\" flag: %v", o.SinceTime, err)
		}
		// The kubelet takes seconds only; a time in the future asks for nothing old.
		since = max(time.Until(t)*-1, time.Second)
	}
	if since > 0 {
		q.Set("sinceSeconds", strconv.FormatInt(int64(math.Ceil(since.Seconds())), 10))
	}
	return q, nil
}

// followAll streams every source at once (each follows forever), a line at a time so
// lines of different containers do not interleave mid-line.
func followAll(ctx context.Context, out io.Writer, sources []source, logURL func(source) string, prefix func(source) string) error {
	var mu sync.Mutex
	errs := make(chan error, len(sources))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, src := range sources {
		go func() {
			errs <- streamLog(ctx, logURL(src), newLineWriter(out, &mu, prefix(src)))
		}()
	}
	var first error
	for range sources {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel() // upstream stops following on the first error
		}
	}
	return first
}

// streamLog copies one pods/log response to w until it ends.
func streamLog(ctx context.Context, logURL string, w *lineWriter) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, logURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kubectl/kube5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return requestError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Body)
	}
	_, err = io.Copy(w, resp.Body)
	w.flush()
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// lineWriter writes complete lines (with a prefix) under a lock shared by concurrent
// streams. Without prefix and lock it passes bytes straight through, so a follower sees
// partial lines (a progress bar) as they come.
type lineWriter struct {
	out    io.Writer
	mu     *sync.Mutex
	prefix string
	buf    []byte
}

func newLineWriter(out io.Writer, mu *sync.Mutex, prefix string) *lineWriter {
	return &lineWriter{out: out, mu: mu, prefix: prefix}
}

func (l *lineWriter) Write(p []byte) (int, error) {
	if l.mu == nil && l.prefix == "" {
		return l.out.Write(p)
	}
	l.buf = append(l.buf, p...)
	i := strings.LastIndexByte(string(l.buf), '\n')
	if i < 0 {
		return len(p), nil
	}
	if err := l.emit(l.buf[:i+1]); err != nil {
		return 0, err
	}
	l.buf = append(l.buf[:0], l.buf[i+1:]...)
	return len(p), nil
}

// flush writes a last line without a newline.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		_ = l.emit(append(l.buf, '\n'))
		l.buf = nil
	}
}

func (l *lineWriter) emit(lines []byte) error {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(lines)))
	sc.Buffer(make([]byte, 64<<10), len(lines)+1)
	for sc.Scan() {
		b.WriteString(l.prefix)
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	if l.mu != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	_, err := io.WriteString(l.out, b.String())
	return err
}

// defaultContainer is upstream's choice when -c is not given: the
// kubectl.kubernetes.io/default-container annotation, else the only container, else the
// first one, saying so on stderr.
func defaultContainer(pod map[string]any, errOut io.Writer) string {
	ctrs := u.Maps(pod, "spec", "containers")
	if a := u.StringMap(pod, "metadata", "annotations")["kubectl.kubernetes.io/default-container"]; a != "" {
		for _, c := range ctrs {
			if u.String(c, "name") == a {
				return a
			}
		}
		fmt.Fprintf(errOut, "Default container name %q not found in pod %s\n", a, u.Name(pod))
	}
	if len(ctrs) == 0 {
		return ""
	}
	first := u.String(ctrs[0], "name")
	if len(ctrs) > 1 || len(u.Maps(pod, "spec", "initContainers")) > 0 {
		var names []string
		for _, c := range ctrs {
			names = append(names, u.String(c, "name"))
		}
		for _, c := range u.Maps(pod, "spec", "initContainers") {
			names = append(names, u.String(c, "name")+" (init)")
		}
		fmt.Fprintf(errOut, "Defaulted container %q out of: %s\n", first, strings.Join(names, ", "))
	}
	return first
}

// resolve finds the pods (POD, TYPE/NAME of a pod owner, or -l) and checks the
// container exists, so errors about names come before any streaming.
func resolve(ctx context.Context, f *connection.Flags, errOut io.Writer, args []string, selector, container string) ([]map[string]any, string, error) {
	cs, err := f.Client()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := f.DefaultNamespace()
	if err != nil {
		return nil, "", err
	}
	var pods []map[string]any
	switch {
	case selector != "":
		list, err := cs.Pods(ns).List(ctx, client.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, "", err
		}
		for _, p := range list.Items {
			m, err := u.FromProto(p)
			if err != nil {
				return nil, "", err
			}
			pods = append(pods, m)
		}
		if len(pods) == 0 {
			return nil, "", fmt.Errorf("No resources found in %s namespace.", ns)
		}
	case len(args) == 0:
		return nil, "", fmt.Errorf("expected POD or TYPE/NAME is a required argument for the logs command")
	default:
		name := args[0]
		if t, n, ok := strings.Cut(name, "/"); ok {
			res, err := resource.Lookup(t)
			if err != nil {
				return nil, "", err
			}
			obj, err := resource.Get(ctx, cs, res, ns, n)
			if err != nil {
				return nil, "", err
			}
			if res.Kind != "Pod" {
				if obj, err = podOf(ctx, cs, errOut, ns, res.Kind, obj, args[0]); err != nil {
					return nil, "", err
				}
			}
			pods = append(pods, obj)
		} else {
			res, _ := resource.Lookup("pods")
			obj, err := resource.Get(ctx, cs, res, ns, name)
			if err != nil {
				return nil, "", err
			}
			pods = append(pods, obj)
		}
	}
	for _, p := range pods {
		if container == "" {
			continue
		}
		found := false
		for _, c := range append(u.Maps(p, "spec", "initContainers"), u.Maps(p, "spec", "containers")...) {
			if u.String(c, "name") == container {
				found = true
			}
		}
		if !found {
			return nil, "", fmt.Errorf("container %s is not valid for pod %s", container, u.Name(p))
		}
	}
	return pods, container, nil
}

// podOf is a pod the object (a Deployment, ReplicaSet, Job, Service...) selects, as
// upstream's attachable-pod lookup: a running one when there is one, saying which when
// there are several.
func podOf(ctx context.Context, cs *client.Clientset, errOut io.Writer, ns, kind string, obj map[string]any, what string) (map[string]any, error) {
	sel := u.StringMap(obj, "spec", "selector", "matchLabels")
	if kind == "ReplicationController" || kind == "Service" {
		sel = u.StringMap(obj, "spec", "selector")
	}
	var parts []string
	for k, v := range sel {
		parts = append(parts, k+"="+v)
	}
	list, err := cs.Pods(ns).List(ctx, client.ListOptions{LabelSelector: strings.Join(parts, ",")})
	if err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, fmt.Errorf("no pods found for %s", what)
	}
	var chosen map[string]any
	for _, p := range list.Items {
		m, err := u.FromProto(p)
		if err != nil {
			return nil, err
		}
		if chosen == nil || (u.String(m, "status", "phase") == "Running" && u.String(chosen, "status", "phase") != "Running") {
			chosen = m
		}
	}
	if len(list.Items) > 1 {
		fmt.Fprintf(errOut, "Found %d pods, using pod/%s\n", len(list.Items), u.Name(chosen))
	}
	return chosen, nil
}
