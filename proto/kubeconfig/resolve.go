package kubeconfig

// ContextNotFoundError is returned when the selected context (current-context or an
// override) is not in the config. The message is upstream's.
type ContextNotFoundError struct{ Name string }

func (e *ContextNotFoundError) Error() string {
	return "context was not found for specified context: " + e.Name
}

// Resolved is what a client needs from a kubeconfig, after overrides and defaults.
type Resolved struct {
	// Context, Cluster and User name the entries used; empty when none applied.
	Context, Cluster, User string
	Server                 string
	Namespace              string
	// ServerDefaulted is true when Server is DefaultServer because neither an override
	// nor the config named one; daemons refuse that, kubectl accepts it.
	ServerDefaulted bool
	ClusterInfo     Cluster
	AuthInfo        AuthInfo
}

// Resolve picks the context (contextOverride, else current-context), its cluster, user
// and namespace, then applies serverOverride (kubectl's --server, a daemon's --master).
// A selected context that does not exist is an error, as upstream; a missing cluster or
// user is not (upstream fills in defaults the same way).
func (c *Config) Resolve(contextOverride, serverOverride string) (*Resolved, error) {
	r := &Resolved{Namespace: DefaultNamespace}
	name := contextOverride
	if name == "" {
		name = c.CurrentContextName
	}
	if name != "" {
		ctx, ok := c.Context(name)
		if !ok {
			return nil, &ContextNotFoundError{Name: name}
		}
		r.Context, r.Cluster, r.User = name, ctx.Cluster, ctx.AuthInfo
		if ctx.Namespace != "" {
			r.Namespace = ctx.Namespace
		}
		if cl, ok := c.Cluster(ctx.Cluster); ok {
			r.ClusterInfo = *cl
		}
		if u, ok := c.User(ctx.AuthInfo); ok {
			r.AuthInfo = *u
		}
	}
	r.Server = r.ClusterInfo.Server
	if serverOverride != "" {
		r.Server = serverOverride
	}
	if r.Server == "" {
		r.Server, r.ServerDefaulted = DefaultServer, true
	}
	return r, nil
}

// ClientConfig returns the server and namespace a client uses; see Resolve. With nothing
// configured it is DefaultServer and "default".
func (c *Config) ClientConfig(contextOverride, serverOverride string) (server, namespace string, err error) {
	r, err := c.Resolve(contextOverride, serverOverride)
	if err != nil {
		return "", "", err
	}
	return r.Server, r.Namespace, nil
}
