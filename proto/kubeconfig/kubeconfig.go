package kubeconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// EnvVar names the colon-separated list of kubeconfig files, as upstream.
const EnvVar = "KUBECONFIG"

// DefaultPath is ~/.kube/config, the file used when $KUBECONFIG is unset.
func DefaultPath() string {
	home := os.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".kube", "config")
}

// Load reads the kubeconfig file at path. A missing (or empty) file is an empty Config,
// so `kubectl config set-*` can create it; callers for which a missing file is an error
// (an explicit --kubeconfig of a daemon) check for it first.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error loading config file %q: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("error loading config file %q: %w", path, err)
	}
	return c, nil
}

// Parse decodes a kubeconfig document. Unknown fields are ignored, as upstream.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	if len(strings.TrimSpace(string(data))) == 0 {
		return c, nil
	}
	if err := yaml.Unmarshal(data, c); err != nil {
		return nil, err
	}
	if c.Kind != "" && c.Kind != "Config" {
		return nil, fmt.Errorf("kind %q is not a kubeconfig (want kind: Config)", c.Kind)
	}
	// Upstream holds these lists in maps, so a name repeated in one file means its last
	// entry; doing the same keeps lookups and writes in agreement with kubectl.
	c.Clusters = dedupLastWins(c.Clusters, func(n NamedCluster) string { return n.Name })
	c.Contexts = dedupLastWins(c.Contexts, func(n NamedContext) string { return n.Name })
	c.Users = dedupLastWins(c.Users, func(n NamedAuthInfo) string { return n.Name })
	return c, nil
}

func dedupLastWins[E any](list []E, name func(E) string) []E {
	pos := map[string]int{}
	var out []E
	for _, e := range list {
		if i, ok := pos[name(e)]; ok {
			out[i] = e
			continue
		}
		pos[name(e)] = len(out)
		out = append(out, e)
	}
	return out
}

// LoadDefault loads the kubeconfig a client uses by default: the files listed in
// $KUBECONFIG merged (see Merge), else ~/.kube/config. path is the file that changes are
// written to, chosen as upstream kubectl does: the only file listed, else the first listed
// file that exists, else the last listed. Missing files are skipped. Saving writes the
// merged view into that one file.
func LoadDefault() (cfg *Config, path string, err error) {
	paths := envPaths()
	if len(paths) == 0 {
		path = DefaultPath()
		cfg, err = Load(path)
		return cfg, path, err
	}
	var cfgs []*Config
	for _, p := range paths {
		c, err := Load(p)
		if err != nil {
			return nil, "", err
		}
		cfgs = append(cfgs, c)
	}
	return Merge(cfgs...), writeTarget(paths), nil
}

// envPaths returns the $KUBECONFIG list without empty entries and repeats.
func envPaths() []string {
	var out []string
	for _, p := range filepath.SplitList(os.Getenv(EnvVar)) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func writeTarget(paths []string) string {
	if len(paths) == 1 {
		return paths[0]
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return paths[len(paths)-1]
}

// Merge combines kubeconfigs as upstream does for $KUBECONFIG: the first config to name
// a cluster, context, user or extension wins it, and the first non-empty current-context
// wins. The inputs are not modified.
func Merge(cfgs ...*Config) *Config {
	out := &Config{}
	for _, c := range cfgs {
		if c == nil {
			continue
		}
		if out.Kind == "" {
			out.Kind, out.APIVersion = c.Kind, c.APIVersion
		}
		if out.CurrentContextName == "" {
			out.CurrentContextName = c.CurrentContextName
		}
		out.Preferences.Colors = out.Preferences.Colors || c.Preferences.Colors
		out.Preferences.Extensions = appendNew(out.Preferences.Extensions, c.Preferences.Extensions, extName)
		out.Clusters = appendNew(out.Clusters, c.Clusters, func(n NamedCluster) string { return n.Name })
		out.Contexts = appendNew(out.Contexts, c.Contexts, func(n NamedContext) string { return n.Name })
		out.Users = appendNew(out.Users, c.Users, func(n NamedAuthInfo) string { return n.Name })
		out.Extensions = appendNew(out.Extensions, c.Extensions, extName)
	}
	return out
}

func extName(e NamedExtension) string { return e.Name }

// appendNew appends the entries of add whose name is not in dst yet.
func appendNew[E any](dst, add []E, name func(E) string) []E {
	for _, e := range add {
		if !slices.ContainsFunc(dst, func(d E) bool { return name(d) == name(e) }) {
			dst = append(dst, e)
		}
	}
	return dst
}

// Marshal encodes the config as upstream kubectl writes it: YAML with sorted keys, lists
// sorted by name, empty lists as null, kind and apiVersion set.
func (c *Config) Marshal() ([]byte, error) {
	out := *c
	out.Kind, out.APIVersion = "Config", "v1"
	out.Clusters = sortedByName(c.Clusters, func(n NamedCluster) string { return n.Name })
	out.Contexts = sortedByName(c.Contexts, func(n NamedContext) string { return n.Name })
	out.Users = sortedByName(c.Users, func(n NamedAuthInfo) string { return n.Name })
	out.Extensions = sortedByName(c.Extensions, extName)
	out.Preferences.Extensions = sortedByName(c.Preferences.Extensions, extName)
	return yaml.Marshal(&out)
}

// sortedByName returns a sorted copy, nil when empty (upstream writes `users: null`).
func sortedByName[E any](list []E, name func(E) string) []E {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.SortStableFunc(out, func(a, b E) int { return strings.Compare(name(a), name(b)) })
	return out
}

// Save writes the config to path with mode 0600 (it may hold credentials), creating the
// directory. The file is replaced atomically, so a concurrent reader never sees half a
// file; a symlinked kubeconfig stays a symlink and its target is replaced.
func (c *Config) Save(path string) error {
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
