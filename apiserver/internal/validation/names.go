// Package validation holds the validators every resource strategy shares: name formats,
// ObjectMeta, label selectors, pod specs. Messages and field paths are upstream's
// (k8s.io/apimachinery/pkg/util/validation and pkg/apis/core/validation) word for word,
// because clients and people match on them.
package validation

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"kube5/proto/apierrors/field"
	"kube5/proto/labels"
)

// The upstream message fragments, shared so every caller words a failure the same way.
const (
	// IsNegativeErrorMsg is the detail of a negative value where zero or more is required.
	IsNegativeErrorMsg = `must be greater than or equal to 0`
	// FieldImmutableErrorMsg is the detail of a change to an immutable field.
	FieldImmutableErrorMsg = `field is immutable`
)

// MaxLenError explains a "string too long" failure.
func MaxLenError(length int) string {
	return fmt.Sprintf("must be no more than %d characters", length)
}

// RegexError explains a regex failure, with examples, in upstream's format.
func RegexError(msg string, format string, examples ...string) string {
	if len(examples) == 0 {
		return msg + " (regex used for validation is '" + format + "')"
	}
	msg += " (e.g. "
	for i := range examples {
		if i > 0 {
			msg += " or "
		}
		msg += "'" + examples[i] + "', "
	}
	return msg + "regex used for validation is '" + format + "')"
}

// EmptyError explains a "must not be empty" failure.
func EmptyError() string { return "must be non-empty" }

// InclusiveRangeError explains a "must be between" failure.
func InclusiveRangeError(lo, hi int) string {
	return fmt.Sprintf(`must be between %d and %d, inclusive`, lo, hi)
}

const (
	dns1123LabelFmt    = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dns1123LabelErrMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
	// DNS1123LabelMaxLength is a label's max length in DNS (RFC 1123).
	DNS1123LabelMaxLength = 63

	dns1123SubdomainFmt      = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
	dns1123SubdomainErrorMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
	// DNS1123SubdomainMaxLength is a subdomain's max length in DNS (RFC 1123).
	DNS1123SubdomainMaxLength = 253

	dns1035LabelFmt    = "[a-z]([-a-z0-9]*[a-z0-9])?"
	dns1035LabelErrMsg = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
	// DNS1035LabelMaxLength is a label's max length in DNS (RFC 1035).
	DNS1035LabelMaxLength = 63
)

var (
	dns1123LabelRegexp     = regexp.MustCompile("^" + dns1123LabelFmt + "$")
	dns1123SubdomainRegexp = regexp.MustCompile("^" + dns1123SubdomainFmt + "$")
	dns1035LabelRegexp     = regexp.MustCompile("^" + dns1035LabelFmt + "$")
)

// IsDNS1123Label tests for a label in DNS (RFC 1123): container names, namespace names.
func IsDNS1123Label(value string) []string {
	var errs []string
	if len(value) > DNS1123LabelMaxLength {
		errs = append(errs, MaxLenError(DNS1123LabelMaxLength))
	}
	if !dns1123LabelRegexp.MatchString(value) {
		if dns1123SubdomainRegexp.MatchString(value) {
			// A valid subdomain that is not a valid label: the length was checked above,
			// so it must be the dots.
			errs = append(errs, "must not contain dots")
		} else {
			errs = append(errs, RegexError(dns1123LabelErrMsg, dns1123LabelFmt, "my-name", "123-abc"))
		}
	}
	return errs
}

// IsDNS1123Subdomain tests for a subdomain in DNS (RFC 1123): most object names.
func IsDNS1123Subdomain(value string) []string {
	var errs []string
	if len(value) > DNS1123SubdomainMaxLength {
		errs = append(errs, MaxLenError(DNS1123SubdomainMaxLength))
	}
	if !dns1123SubdomainRegexp.MatchString(value) {
		errs = append(errs, RegexError(dns1123SubdomainErrorMsg, dns1123SubdomainFmt, "example.com"))
	}
	return errs
}

// IsDNS1035Label tests for a label in DNS (RFC 1035): service names, which become DNS
// names that must not start with a digit.
func IsDNS1035Label(value string) []string {
	var errs []string
	if len(value) > DNS1035LabelMaxLength {
		errs = append(errs, MaxLenError(DNS1035LabelMaxLength))
	}
	if !dns1035LabelRegexp.MatchString(value) {
		errs = append(errs, RegexError(dns1035LabelErrMsg, dns1035LabelFmt, "my-name", "abc-123"))
	}
	return errs
}

// IsQualifiedName tests a label key, annotation key or finalizer: an optional DNS
// subdomain prefix and a name. The labels package owns the rule; this is its alias here.
func IsQualifiedName(value string) []string { return labels.ValidateKey(value) }

// IsValidLabelValue tests a label value.
func IsValidLabelValue(value string) []string { return labels.ValidateValue(value) }

// IsValidPortNum tests that the argument is a valid, non-zero port number.
func IsValidPortNum(port int) []string {
	if 1 <= port && port <= 65535 {
		return nil
	}
	return []string{InclusiveRangeError(1, 65535)}
}

// IsInRange tests that the argument is in an inclusive range.
func IsInRange(value, lo, hi int) []string {
	if value >= lo && value <= hi {
		return nil
	}
	return []string{InclusiveRangeError(lo, hi)}
}

// Unix user and group IDs are 32-bit unsigned, as libcontainer has them.
const (
	maxUserID  = 0xffffffff
	maxGroupID = 0xffffffff
)

// IsValidGroupID tests that the argument is a valid Unix GID.
func IsValidGroupID(gid int64) []string {
	if 0 <= gid && gid <= maxGroupID {
		return nil
	}
	return []string{InclusiveRangeError(0, maxGroupID)}
}

// IsValidUserID tests that the argument is a valid Unix UID.
func IsValidUserID(uid int64) []string {
	if 0 <= uid && uid <= maxUserID {
		return nil
	}
	return []string{InclusiveRangeError(0, maxUserID)}
}

var (
	portNameCharsetRegex   = regexp.MustCompile("^[-a-z0-9]+$")
	portNameOneLetterRegex = regexp.MustCompile("[a-z]")
)

// IsValidPortName tests an IANA service name (RFC 6335) as ports are named: at most 15
// characters of [-a-z0-9], at least one letter, no leading, trailing or double hyphen.
// Only lower case, although RFC 6335 is case-insensitive, as upstream.
func IsValidPortName(port string) []string {
	var errs []string
	if len(port) > 15 {
		errs = append(errs, MaxLenError(15))
	}
	if !portNameCharsetRegex.MatchString(port) {
		errs = append(errs, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
	}
	if !portNameOneLetterRegex.MatchString(port) {
		errs = append(errs, "must contain at least one letter (a-z)")
	}
	if strings.Contains(port, "--") {
		errs = append(errs, "must not contain consecutive hyphens")
	}
	if len(port) > 0 && (port[0] == '-' || port[len(port)-1] == '-') {
		errs = append(errs, "must not begin or end with a hyphen")
	}
	return errs
}

// parseIPSloppy parses an IP as upstream's netutils.ParseIPSloppy: like net.ParseIP, but
// IPv4 octets may carry leading zeros ("010.0.0.1"), which older Go accepted and stored
// objects may hold.
func parseIPSloppy(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	if strings.Contains(s, ":") {
		return nil
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return nil
		}
		t := strings.TrimLeft(p, "0")
		if t == "" {
			t = "0"
		}
		parts[i] = t
	}
	return net.ParseIP(strings.Join(parts, "."))
}

// ParseIP parses an IP as validation accepts it (see IsValidIP); nil when invalid.
func ParseIP(s string) net.IP { return parseIPSloppy(s) }

// IsValidIP tests that the argument is a valid IP address.
func IsValidIP(path *field.Path, value string) field.ErrorList {
	if parseIPSloppy(value) == nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")}
	}
	return nil
}

// IsIPv6String reports whether s is an IPv6 address.
func IsIPv6String(s string) bool {
	ip := parseIPSloppy(s)
	return ip != nil && ip.To4() == nil
}

// parseCIDRSloppy is net.ParseCIDR with parseIPSloppy's leniency on the address.
func parseCIDRSloppy(s string) (*net.IPNet, error) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return nil, fmt.Errorf("invalid CIDR address: %s", s)
	}
	ip := parseIPSloppy(s[:i])
	if ip == nil {
		return nil, fmt.Errorf("invalid CIDR address: %s", s)
	}
	addr := ip.String()
	_, n, err := net.ParseCIDR(addr + s[i:])
	return n, err
}

// IsValidCIDR tests that the argument is a valid CIDR value.
func IsValidCIDR(path *field.Path, value string) field.ErrorList {
	if _, err := parseCIDRSloppy(value); err != nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	return nil
}

// IsDualStack reports whether the addresses (IPs or CIDRs) hold exactly one of each IP
// family; callers first check each value is valid.
func IsDualStack(values []string, cidr bool) bool {
	v4, v6 := 0, 0
	for _, s := range values {
		var ip net.IP
		if cidr {
			n, err := parseCIDRSloppy(s)
			if err != nil {
				return false
			}
			ip = n.IP
		} else {
			ip = parseIPSloppy(s)
		}
		if ip == nil {
			return false
		}
		if ip.To4() != nil {
			v4++
		} else {
			v6++
		}
	}
	return v4 > 0 && v6 > 0
}

// ValidateNonSpecialIP rejects addresses that make no sense as a destination for
// endpoints and external IPs: unspecified, loopback and link-local.
func ValidateNonSpecialIP(value string, path *field.Path) field.ErrorList {
	ip := parseIPSloppy(value)
	if ip == nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, value, fmt.Sprintf("may not be unspecified (%v)", value)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

const (
	percentFmt    = "[0-9]+%"
	percentErrMsg = "a valid percent string must be a numeric string followed by an ending '%'"
)

var percentRegexp = regexp.MustCompile("^" + percentFmt + "$")

// IsValidPercent checks that a string is a percentage ("25%").
func IsValidPercent(percent string) []string {
	if !percentRegexp.MatchString(percent) {
		return []string{RegexError(percentErrMsg, percentFmt, "1%", "93%")}
	}
	return nil
}

const (
	httpHeaderNameFmt    = "[-A-Za-z0-9]+"
	httpHeaderNameErrMsg = "a valid HTTP header must consist of alphanumeric characters or '-'"
)

var httpHeaderNameRegexp = regexp.MustCompile("^" + httpHeaderNameFmt + "$")

// IsHTTPHeaderName checks a header name as Go's HTTP library accepts it.
func IsHTTPHeaderName(value string) []string {
	if !httpHeaderNameRegexp.MatchString(value) {
		return []string{RegexError(httpHeaderNameErrMsg, httpHeaderNameFmt, "X-Header-Name")}
	}
	return nil
}

const (
	envVarNameFmt       = "[-._a-zA-Z][-._a-zA-Z0-9]*"
	envVarNameFmtErrMsg = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"
)

var envVarNameRegexp = regexp.MustCompile("^" + envVarNameFmt + "$")

// IsEnvVarName tests an environment variable name (and an envFrom prefix).
func IsEnvVarName(value string) []string {
	var errs []string
	if !envVarNameRegexp.MatchString(value) {
		errs = append(errs, RegexError(envVarNameFmtErrMsg, envVarNameFmt, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
	}
	return append(errs, hasChDirPrefix(value)...)
}

const (
	configMapKeyFmt    = `[-._a-zA-Z0-9]+`
	configMapKeyErrMsg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
)

var configMapKeyRegexp = regexp.MustCompile("^" + configMapKeyFmt + "$")

// IsConfigMapKey tests a key of a ConfigMap or Secret: it becomes a file name in volumes,
// hence no "." or ".." and nothing starting with "..".
func IsConfigMapKey(value string) []string {
	var errs []string
	if len(value) > DNS1123SubdomainMaxLength {
		errs = append(errs, MaxLenError(DNS1123SubdomainMaxLength))
	}
	if !configMapKeyRegexp.MatchString(value) {
		errs = append(errs, RegexError(configMapKeyErrMsg, configMapKeyFmt, "key.name", "KEY_NAME", "key-name"))
	}
	return append(errs, hasChDirPrefix(value)...)
}

func hasChDirPrefix(value string) []string {
	switch {
	case value == ".":
		return []string{`must not be '.'`}
	case value == "..":
		return []string{`must not be '..'`}
	case strings.HasPrefix(value, ".."):
		return []string{`must not start with '..'`}
	}
	return nil
}

// NameFunc validates an object name for one resource type. prefix is true for a
// generateName, which gets characters appended, so a trailing dash is fine.
type NameFunc func(name string, prefix bool) []string

// maskTrailingDash replaces a trailing dash of a generateName with a character any name
// format accepts, so the prefix is judged as the names generated from it will be.
func maskTrailingDash(name string) string {
	if len(name) > 1 && strings.HasSuffix(name, "-") {
		return name[:len(name)-2] + "a"
	}
	return name
}

// NameIsDNSSubdomain is the NameFunc of most resources.
func NameIsDNSSubdomain(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return IsDNS1123Subdomain(name)
}

// NameIsDNSLabel is the NameFunc of names that must be a DNS-1123 label (namespaces).
func NameIsDNSLabel(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return IsDNS1123Label(name)
}

// NameIsDNS1035Label is the NameFunc of services.
func NameIsDNS1035Label(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return IsDNS1035Label(name)
}

// ValidateNamespaceName checks a namespace name (a DNS-1123 label).
var ValidateNamespaceName NameFunc = NameIsDNSLabel

// ValidateDNS1123Label returns an Invalid error per failed rule.
func ValidateDNS1123Label(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// ValidateDNS1123Subdomain returns an Invalid error per failed rule.
func ValidateDNS1123Subdomain(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// ValidateQualifiedName returns an Invalid error per failed rule.
func ValidateQualifiedName(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsQualifiedName(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}
