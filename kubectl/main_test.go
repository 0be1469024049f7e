// Tests of kubectl as a user runs it: the built binary, as a subprocess, against a real
// kube-apiserver. The apiserver is the real binary too, started by
// kube5/proto/apiservertest on an embedded etcd in a temp dir and free ports: modules
// import only kube5/proto (design.md §1), so the apiserver cannot run in-process here.
//
// Output is compared to golden files under testdata/ (go test -update rewrites them),
// after normalising what differs from run to run: ages, allocated ClusterIPs, times.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/client"
	"kube5/proto/codec"
	"kube5/proto/scheme"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// kubectlBin is built once per test binary by TestMain.
var kubectlBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "kubectl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kubectlBin = filepath.Join(dir, "kubectl")
	// Under -race the binary is built with -race too, so races in kubectl's own
	// goroutines (watch, wait) are caught in the subprocess.
	build := append(append([]string{"build"}, raceFlags...), "-o", kubectlBin, "kube5/kubectl")
	if out, err := exec.Command("go", build...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build kube5/kubectl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one user's environment: a HOME of their own (so ~/.kube/config is private to
// the test), and optionally --server on every command.
type env struct {
	t      *testing.T
	home   string
	server string
	extra  []string // environment variables
}

func newEnv(t *testing.T, server string) *env {
	return &env{t: t, home: t.TempDir(), server: server}
}

type result struct {
	out, err string
	code     int
}

func (e *env) runIn(stdin string, args ...string) result {
	e.t.Helper()
	if e.server != "" {
		args = append([]string{"--server=" + e.server}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, args...)
	cmd.Env = append([]string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH")}, e.extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("kubectl %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn("", args...)
}

// ok runs kubectl and fails the test unless it exits 0; it returns stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("kubectl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// fails runs kubectl and fails the test unless it exits non-zero; it returns stderr.
func (e *env) fails(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code == 0 {
		e.t.Fatalf("kubectl %s: exit 0, want failure\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.out, r.err)
	}
	return r.err
}

func wantEqual(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, got, want)
	}
}

func wantContains(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s: %q not in:\n%s", what, s, got)
		}
	}
}

// createFixtures creates every object of a manifest through the API and then writes
// the manifest's status through the status subresource, standing in for the
// controllers and kubelets that do not run in these tests.
func createFixtures(t *testing.T, cs *client.Clientset, path string) {
	t.Helper()
	docs, err := resource.FileOptions{Filenames: []string{path}, Validate: true}.Read(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range docs {
		if d.Err != nil {
			t.Fatalf("%s: %v", path, d.Err)
		}
		if d.Res.Kind == "Event" {
			// Point events at their object's uid, as describe's field selector needs.
			io := u.Map(d.Obj, "involvedObject")
			r, _ := scheme.Lookup(u.String(io, "kind"))
			obj, err := resource.Get(ctx, cs, r, u.String(io, "namespace"), u.String(io, "name"))
			if err != nil {
				t.Fatal(err)
			}
			io["uid"] = u.String(obj, "metadata", "uid")
		}
		created, err := resource.Create(ctx, cs, d.Res, d.Obj, true)
		if err != nil {
			t.Fatalf("creating %s %s: %v", d.Res.Kind, u.Name(d.Obj), err)
		}
		if _, ok := d.Obj["status"]; !ok || d.Res.Kind == "Namespace" {
			continue
		}
		withStatus := u.DeepCopy(created).(map[string]any)
		withStatus["status"] = d.Obj["status"]
		p, err := u.ToProto(withStatus, d.Res)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Resource(d.Res, u.Namespace(created)).UpdateStatus(ctx, p); err != nil {
			t.Fatalf("status of %s %s: %v", d.Res.Kind, u.Name(d.Obj), err)
		}
	}
}

var (
	ageCell   = regexp.MustCompile(`^(\d+[smhdy])+$`)
	agoCell   = regexp.MustCompile(`\((\d+[smhdy])+ ago\)`)
	overCell  = regexp.MustCompile(`(\d+[smhdy])+ \(x(\d+) over (\d+[smhdy])+\)`)
	clusterIP = regexp.MustCompile(`\b10\.0\.0\.\d+\b`)
	uuid      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	// The Age column ending describe's pod tables (rows start with the namespace).
	lineEndAge = regexp.MustCompile(`(?m)^(  golden .*  )(\d+[smhdy])+$`)
	spaces     = regexp.MustCompile(`  +`)
	rfc1123    = regexp.MustCompile(`\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`)
	rfc3339    = regexp.MustCompile(`"?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"?`)
	rvField    = regexp.MustCompile(`resourceVersion: "\d+"`)
)

// normaliseTable rewrites each table of kubectl's output with its volatile cells
// (ages, ClusterIPs) replaced, re-aligning the columns the way kubectl does. Column
// boundaries come from the header: a column starts where a header cell starts.
func normaliseTable(out string) string {
	var b strings.Builder
	for i, block := range strings.Split(strings.TrimRight(out, "\n"), "\n\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		lines := strings.Split(block, "\n")
		starts := columnStarts(lines[0])
		tw := tabwriter.NewWriter(&b, 6, 4, 3, ' ', 0)
		for _, l := range lines {
			var cells []string
			for j, s := range starts {
				end := len(l)
				if j+1 < len(starts) && starts[j+1] < len(l) {
					end = starts[j+1]
				}
				cell := ""
				if s < len(l) {
					cell = strings.TrimSpace(l[s:end])
				}
				switch {
				case ageCell.MatchString(cell):
					cell = "<age>"
				default:
					cell = agoCell.ReplaceAllString(cell, "(<age> ago)")
					cell = overCell.ReplaceAllString(cell, "<age> (x$2 over <age>)")
					cell = clusterIP.ReplaceAllString(cell, "10.0.0.x")
					cell = uuid.ReplaceAllString(cell, "<uid>")
				}
				cells = append(cells, cell)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		tw.Flush()
	}
	return b.String()
}

func columnStarts(header string) []int {
	starts := []int{0}
	for i := 2; i < len(header); i++ {
		if header[i] != ' ' && header[i-1] == ' ' && header[i-2] == ' ' {
			starts = append(starts, i)
		}
	}
	return starts
}

// normaliseText handles describe and yaml output: times, ages, uids, ClusterIPs.
func normaliseText(out string) string {
	out = rfc1123.ReplaceAllString(out, "<time>")
	out = rfc3339.ReplaceAllString(out, "<time>")
	out = rvField.ReplaceAllString(out, `resourceVersion: "<rv>"`)
	out = clusterIP.ReplaceAllString(out, "10.0.0.x")
	out = uuid.ReplaceAllString(out, "<uid>")
	out = overCell.ReplaceAllString(out, "<age> (x$2 over <age>)")
	out = lineEndAge.ReplaceAllString(out, "$1<age>")
	// Rows of the Events table hold ages whose width varies: compare them with single
	// separators.
	lines := strings.Split(out, "\n")
	inEvents := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "Events:"):
			inEvents = true
		case inEvents && strings.HasPrefix(l, "  "):
			lines[i] = "  " + spaces.ReplaceAllString(strings.TrimSpace(l), "  ")
		default:
			inEvents = false
		}
	}
	return strings.Join(lines, "\n")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// decodeInto decodes upstream JSON into a proto object.
func decodeInto(js string, into scheme.Object) error {
	_, _, err := codec.DecodeObject([]byte(js), into)
	return err
}
