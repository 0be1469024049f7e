package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A guide's multi-machine commands (INSTALL.md's second node) run on a node as they
// would on that machine: inside its network namespace, in its directory (so a relative
// path such as `--kubeconfig kubeconfig` is the node's file), with bin/ first on PATH.

// GuideWords checks that command is in the guide verbatim (marking it covered), applies
// the replacements (old, new pairs: the guide's addresses become the test's) and splits
// it into words, with single and double quotes; other shell syntax is refused (use
// ShellOn for a shell line).
func (m *MultiNode) GuideWords(g *Guide, command string, replacements ...string) []string {
	m.t.Helper()
	if !g.Has(command) {
		m.t.Fatalf("%q is not a command of the e2e blocks of %s: keep the test and the guide identical", command, g.Path)
	}
	words, err := splitWords(strings.NewReplacer(replacements...).Replace(command))
	if err != nil {
		m.t.Fatalf("%s: %v", g.Path, err)
	}
	return words
}

// splitWords splits a command line into words; quotes group, nothing is substituted.
func splitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'' || ch == '"':
			j := strings.IndexByte(line[i+1:], ch)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c in %q", ch, line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case strings.IndexByte("$`|;&<>()", ch) >= 0:
			return nil, fmt.Errorf("%q is a shell line (%c), not a plain command", line, ch)
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// KubectlOn runs bin/kubectl with args on node n (its namespace, its directory), with
// KUBECONFIG=kubeconfig when not empty, and returns its combined output.
func (m *MultiNode) KubectlOn(n *Node, kubeconfig string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := n.NS.Command(ctx, filepath.Join(m.BinDir, "kubectl"), args...)
	cmd.Dir = n.Dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ShellOn runs a shell line of the guide (checked with Has) with bash on node n: in its
// namespace and directory, bin/ first on PATH, KUBECONFIG=kubeconfig. It returns the
// standard output; the error holds the standard error.
func (m *MultiNode) ShellOn(n *Node, g *Guide, kubeconfig, line string) (string, error) {
	m.t.Helper()
	if !g.Has(line) {
		m.t.Fatalf("%q is not a command of the e2e blocks of %s: keep the test and the guide identical", line, g.Path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := n.NS.Command(ctx, "bash", "-c", line)
	cmd.Dir = n.Dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+m.BinDir+":"+os.Getenv("PATH"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("on %s: %s: %v: %s", n.Name, line, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
