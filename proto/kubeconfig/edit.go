package kubeconfig

import (
	"fmt"
	"slices"
)

// DefaultServer is the API server a client talks to when nothing is configured, as old
// upstream kubectl did: the apiserver's insecure port on this machine.
const DefaultServer = "http://127.0.0.1:8080"

// DefaultNamespace is the namespace used when the context names none.
const DefaultNamespace = "default"

// Cluster returns the named cluster entry. The pointer is valid until the next mutation.
func (c *Config) Cluster(name string) (*Cluster, bool) {
	i := slices.IndexFunc(c.Clusters, func(n NamedCluster) bool { return n.Name == name })
	if i < 0 {
		return nil, false
	}
	return &c.Clusters[i].Cluster, true
}

// Context returns the named context entry. The pointer is valid until the next mutation.
func (c *Config) Context(name string) (*Context, bool) {
	i := slices.IndexFunc(c.Contexts, func(n NamedContext) bool { return n.Name == name })
	if i < 0 {
		return nil, false
	}
	return &c.Contexts[i].Context, true
}

// User returns the named user entry. The pointer is valid until the next mutation.
func (c *Config) User(name string) (*AuthInfo, bool) {
	i := slices.IndexFunc(c.Users, func(n NamedAuthInfo) bool { return n.Name == name })
	if i < 0 {
		return nil, false
	}
	return &c.Users[i].AuthInfo, true
}

// SetCluster creates the named cluster or updates it, as `kubectl config set-cluster`:
// an empty server leaves the current value alone.
func (c *Config) SetCluster(name, server string) *Cluster {
	cl, ok := c.Cluster(name)
	if !ok {
		c.Clusters = append(c.Clusters, NamedCluster{Name: name})
		cl = &c.Clusters[len(c.Clusters)-1].Cluster
	}
	if server != "" {
		cl.Server = server
	}
	return cl
}

// SetContext creates the named context or updates it, as `kubectl config set-context`:
// only the non-empty arguments change.
func (c *Config) SetContext(name, cluster, namespace, user string) *Context {
	ctx, ok := c.Context(name)
	if !ok {
		c.Contexts = append(c.Contexts, NamedContext{Name: name})
		ctx = &c.Contexts[len(c.Contexts)-1].Context
	}
	if cluster != "" {
		ctx.Cluster = cluster
	}
	if namespace != "" {
		ctx.Namespace = namespace
	}
	if user != "" {
		ctx.AuthInfo = user
	}
	return ctx
}

// SetCredentials creates the named user or updates it, as `kubectl config
// set-credentials`: an empty token leaves the current value alone.
func (c *Config) SetCredentials(name, token string) *AuthInfo {
	u, ok := c.User(name)
	if !ok {
		c.Users = append(c.Users, NamedAuthInfo{Name: name})
		u = &c.Users[len(c.Users)-1].AuthInfo
	}
	if token != "" {
		u.Token = token
	}
	return u
}

// DeleteCluster removes the named cluster and reports whether it existed.
func (c *Config) DeleteCluster(name string) bool {
	n := len(c.Clusters)
	c.Clusters = slices.DeleteFunc(c.Clusters, func(e NamedCluster) bool { return e.Name == name })
	return len(c.Clusters) != n
}

// DeleteContext removes the named context and reports whether it existed. Like
// upstream, it leaves current-context alone even when it names this context.
func (c *Config) DeleteContext(name string) bool {
	n := len(c.Contexts)
	c.Contexts = slices.DeleteFunc(c.Contexts, func(e NamedContext) bool { return e.Name == name })
	return len(c.Contexts) != n
}

// DeleteUser removes the named user and reports whether it existed.
func (c *Config) DeleteUser(name string) bool {
	n := len(c.Users)
	c.Users = slices.DeleteFunc(c.Users, func(e NamedAuthInfo) bool { return e.Name == name })
	return len(c.Users) != n
}

// UseContext sets current-context. The message for an unknown name is upstream's
// (kubectl prints it after "error: ").
func (c *Config) UseContext(name string) error {
	if _, ok := c.Context(name); !ok {
		return fmt.Errorf("no context exists with the name: %q", name)
	}
	c.CurrentContextName = name
	return nil
}

// CurrentContext returns current-context ("" when unset).
func (c *Config) CurrentContext() string { return c.CurrentContextName }
