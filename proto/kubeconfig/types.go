// Package kubeconfig reads and writes upstream's kubeconfig file (apiVersion v1, kind
// Config) and resolves which API server and namespace a client talks to. Files written
// here are byte-for-byte what upstream kubectl writes for the same content, so a user can
// switch between the two tools.
package kubeconfig

import "encoding/json"

// Config is the v1 kubeconfig file, field for field as upstream's clientcmd/api/v1.Config.
// Lists are kept in file order when read and sorted by name when written, as upstream
// (which holds them in maps).
type Config struct {
	Kind        string          `json:"kind,omitempty"`
	APIVersion  string          `json:"apiVersion,omitempty"`
	Preferences Preferences     `json:"preferences"`
	Clusters    []NamedCluster  `json:"clusters"`
	Users       []NamedAuthInfo `json:"users"`
	Contexts    []NamedContext  `json:"contexts"`
	// CurrentContextName is current-context; the CurrentContext method reads it.
	CurrentContextName string           `json:"current-context"`
	Extensions         []NamedExtension `json:"extensions,omitempty"`
}

// Preferences is unused by kube5 but kept so files round-trip.
type Preferences struct {
	Colors     bool             `json:"colors,omitempty"`
	Extensions []NamedExtension `json:"extensions,omitempty"`
}

// NamedCluster is one entry of clusters.
type NamedCluster struct {
	Name    string  `json:"name"`
	Cluster Cluster `json:"cluster"`
}

// Cluster says how to reach an API server.
type Cluster struct {
	Server                   string           `json:"server"`
	TLSServerName            string           `json:"tls-server-name,omitempty"`
	InsecureSkipTLSVerify    bool             `json:"insecure-skip-tls-verify,omitempty"`
	CertificateAuthority     string           `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte           `json:"certificate-authority-data,omitempty"`
	ProxyURL                 string           `json:"proxy-url,omitempty"`
	DisableCompression       bool             `json:"disable-compression,omitempty"`
	Extensions               []NamedExtension `json:"extensions,omitempty"`
}

// NamedContext is one entry of contexts.
type NamedContext struct {
	Name    string  `json:"name"`
	Context Context `json:"context"`
}

// Context ties a cluster, a user and a default namespace together.
type Context struct {
	Cluster    string           `json:"cluster"`
	AuthInfo   string           `json:"user"`
	Namespace  string           `json:"namespace,omitempty"`
	Extensions []NamedExtension `json:"extensions,omitempty"`
}

// NamedAuthInfo is one entry of users.
type NamedAuthInfo struct {
	Name     string   `json:"name"`
	AuthInfo AuthInfo `json:"user"`
}

// AuthInfo holds credentials. kube5 uses none of them yet; they are kept so that writing
// a file never loses what another tool put there. AuthProvider and Exec are kept as raw
// JSON for the same reason.
type AuthInfo struct {
	ClientCertificate     string              `json:"client-certificate,omitempty"`
	ClientCertificateData []byte              `json:"client-certificate-data,omitempty"`
	ClientKey             string              `json:"client-key,omitempty"`
	ClientKeyData         []byte              `json:"client-key-data,omitempty"`
	Token                 string              `json:"token,omitempty"`
	TokenFile             string              `json:"tokenFile,omitempty"`
	Impersonate           string              `json:"as,omitempty"`
	ImpersonateUID        string              `json:"as-uid,omitempty"`
	ImpersonateGroups     []string            `json:"as-groups,omitempty"`
	ImpersonateUserExtra  map[string][]string `json:"as-user-extra,omitempty"`
	Username              string              `json:"username,omitempty"`
	Password              string              `json:"password,omitempty"`
	AuthProvider          json.RawMessage     `json:"auth-provider,omitempty"`
	Exec                  json.RawMessage     `json:"exec,omitempty"`
	Extensions            []NamedExtension    `json:"extensions,omitempty"`
}

// NamedExtension is an opaque extension, kept verbatim.
type NamedExtension struct {
	Name      string          `json:"name"`
	Extension json.RawMessage `json:"extension"`
}
