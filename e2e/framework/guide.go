package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Guide is the set of commands in the shell blocks of a Markdown file (INSTALL.md) that
// follow a `<!-- e2e: NAME -->` marker. Tests run the guide's commands through Run, which
// refuses a command the guide does not hold verbatim, and Uncovered lists the guide's
// kubectl commands no test ran: the guide and the tests cannot drift apart.
type Guide struct {
	Path     string
	commands map[string]bool // command -> run by a test
	order    []string
}

// LoadGuide reads the blocks marked `<!-- e2e: name -->` of the Markdown file at path.
func LoadGuide(path, name string) (*Guide, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g := &Guide{Path: path, commands: map[string]bool{}}
	marker := "<!-- e2e: " + name + " -->"
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != marker {
			continue
		}
		// The next fenced block after the marker.
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
		}
		cont := ""
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
			l := strings.TrimSpace(lines[i])
			if strings.HasSuffix(l, `\`) {
				cont += strings.TrimSpace(strings.TrimSuffix(l, `\`)) + " "
				continue
			}
			l = strings.TrimSpace(cont + l)
			cont = ""
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if _, ok := g.commands[l]; !ok {
				g.order = append(g.order, l)
			}
			g.commands[l] = false
		}
	}
	if len(g.order) == 0 {
		return nil, fmt.Errorf("%s has no shell block marked %q", path, marker)
	}
	return g, nil
}

// LoadInstallGuide loads the `<!-- e2e: name -->` blocks of <repo>/INSTALL.md, skipping the
// test when the repository is not found.
func LoadInstallGuide(t testing.TB, name string) *Guide {
	t.Helper()
	_, repo := BinDir()
	if repo == "" {
		t.Skip("e2e: repository root (go.work) not found; INSTALL.md is needed")
	}
	g, err := LoadGuide(filepath.Join(repo, "INSTALL.md"), name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Has reports whether the guide holds the command verbatim, and marks it covered.
func (g *Guide) Has(command string) bool {
	_, ok := g.commands[command]
	if ok {
		g.commands[command] = true
	}
	return ok
}

// Uncovered lists the guide's commands that start with one of prefixes and that no
// Has call matched.
func (g *Guide) Uncovered(prefixes ...string) []string {
	var out []string
	for _, c := range g.order {
		if g.commands[c] {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(c, p) {
				out = append(out, c)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Run runs a kubectl command of the guide (checked with Has) on the cluster: `$(kubectl
// ...)` substitutions are run first, and the guide's apiserver address
// http://127.0.0.1:8080 becomes the cluster's. It returns kubectl's combined output.
func (c *Cluster) Run(g *Guide, command string) (string, error) {
	c.t.Helper()
	if !g.Has(command) {
		c.t.Fatalf("%q is not a command of the e2e blocks of %s: keep the test and the guide identical", command, g.Path)
	}
	line := strings.ReplaceAll(command, "http://127.0.0.1:8080", c.URL)
	args, err := c.expand(line)
	if err != nil {
		return "", err
	}
	if len(args) == 0 || args[0] != "kubectl" {
		return "", fmt.Errorf("%q: only kubectl commands are run", command)
	}
	return c.Kubectl(args[1:]...)
}

// CurlURL checks that a `curl URL` command is in the guide, expands it like Run, and
// returns its URL (with http:// added when the guide leaves it out, as curl does); the
// test GETs it itself.
func (c *Cluster) CurlURL(g *Guide, command string) (string, error) {
	c.t.Helper()
	if !g.Has(command) {
		c.t.Fatalf("%q is not a command of the e2e blocks of %s: keep the test and the guide identical", command, g.Path)
	}
	args, err := c.expand(command)
	if err != nil {
		return "", err
	}
	if len(args) < 2 || args[0] != "curl" {
		return "", fmt.Errorf("%q is not curl URL", command)
	}
	url := args[len(args)-1]
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	return url, nil
}

// Commands are the guide's commands, in order.
func (g *Guide) Commands() []string { return append([]string(nil), g.order...) }

// FlagNames returns the program and the names of the --flags of a command line
// ("kubelet --kubeconfig ~/.kube/config" -> "kubelet", ["kubeconfig"]).
func FlagNames(command string) (string, []string) {
	words := strings.Fields(command)
	if len(words) == 0 {
		return "", nil
	}
	var flags []string
	for _, w := range words[1:] {
		if name, ok := strings.CutPrefix(w, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			flags = append(flags, name)
		}
	}
	return words[0], flags
}

// MustRun is Run failing the test on an error.
func (c *Cluster) MustRun(g *Guide, command string) string {
	c.t.Helper()
	out, err := c.Run(g, command)
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", command, err, out)
	}
	return out
}

// expand splits a shell command line into words: single and double quotes, and
// $(kubectl ...) substitutions (run, output trimmed, one word).
func (c *Cluster) expand(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated \" in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '$' && i+1 < len(line) && line[i+1] == '(':
			depth, j := 1, i+2
			for ; j < len(line) && depth > 0; j++ {
				switch line[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			if depth != 0 {
				return nil, fmt.Errorf("unterminated $( in %q", line)
			}
			inner, err := c.expand(line[i+2 : j-1])
			if err != nil {
				return nil, err
			}
			if len(inner) == 0 || inner[0] != "kubectl" {
				return nil, fmt.Errorf("%q: only $(kubectl ...) is substituted", line)
			}
			out, err := c.Kubectl(inner[1:]...)
			if err != nil {
				return nil, fmt.Errorf("$(%s): %v: %s", strings.Join(inner, " "), err, out)
			}
			cur.WriteString(strings.TrimSpace(out))
			i = j - 1
			inWord = true
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
