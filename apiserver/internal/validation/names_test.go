package validation

import (
	"reflect"
	"strings"
	"testing"

	"kube5/proto/apierrors/field"
)

func TestDNSNames(t *testing.T) {
	const (
		subdomainMsg = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
		labelMsg     = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
		dns1035Msg   = `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`
	)
	tests := []struct {
		name  string
		fn    func(string) []string
		value string
		want  []string
	}{
		{"subdomain ok", IsDNS1123Subdomain, "example.com", nil},
		{"subdomain upper", IsDNS1123Subdomain, "Example.com", []string{subdomainMsg}},
		{"subdomain too long", IsDNS1123Subdomain, strings.Repeat("a", 254), []string{"must be no more than 253 characters"}},
		{"label ok", IsDNS1123Label, "123-abc", nil},
		{"label dots", IsDNS1123Label, "a.b", []string{"must not contain dots"}},
		{"label trailing dash", IsDNS1123Label, "abc-", []string{labelMsg}},
		{"label too long", IsDNS1123Label, strings.Repeat("a", 64), []string{"must be no more than 63 characters"}},
		{"1035 ok", IsDNS1035Label, "my-svc", nil},
		{"1035 digit first", IsDNS1035Label, "1svc", []string{dns1035Msg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fn(tt.value)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestGenerateNamePrefix(t *testing.T) {
	if errs := NameIsDNSSubdomain("web-", true); len(errs) != 0 {
		t.Errorf("a generateName may end with a dash: %v", errs)
	}
	if errs := NameIsDNSSubdomain("web-", false); len(errs) == 0 {
		t.Error("a name may not end with a dash")
	}
	if errs := NameIsDNSSubdomain("-", true); len(errs) == 0 {
		t.Error(`"-" is no valid generateName`)
	}
}

func TestPortsAndAddresses(t *testing.T) {
	if got := IsValidPortNum(0); !reflect.DeepEqual(got, []string{"must be between 1 and 65535, inclusive"}) {
		t.Errorf("port 0: %q", got)
	}
	if got := IsValidPortNum(65535); got != nil {
		t.Errorf("port 65535: %q", got)
	}
	for name, want := range map[string][]string{
		"http":             nil,
		"http-alt":         nil,
		"80":               {"must contain at least one letter (a-z)"},
		"a--b":             {"must not contain consecutive hyphens"},
		"-ab":              {"must not begin or end with a hyphen"},
		"HTTP":             {"must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)", "must contain at least one letter (a-z)"},
		"abcdefghijklmnop": {"must be no more than 15 characters"},
	} {
		if got := IsValidPortName(name); !reflect.DeepEqual(got, want) {
			t.Errorf("IsValidPortName(%q) = %q, want %q", name, got, want)
		}
	}
	p := field.NewPath("spec", "clusterIP")
	for ip, ok := range map[string]bool{"10.0.0.1": true, "2001:db8::1": true, "010.0.0.1": true, "10.0.0": false, "": false, "None": false} {
		errs := IsValidIP(p, ip)
		if (len(errs) == 0) != ok {
			t.Errorf("IsValidIP(%q) = %v", ip, errs)
		}
		if !ok && errs[0].Error() != `spec.clusterIP: Invalid value: "`+ip+`": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)` {
			t.Errorf("message: %s", errs[0].Error())
		}
	}
	for cidr, ok := range map[string]bool{"10.244.1.0/24": true, "fd00::/64": true, "10.244.1.0": false, "10.244.1.0/33": false} {
		if errs := IsValidCIDR(p, cidr); (len(errs) == 0) != ok {
			t.Errorf("IsValidCIDR(%q) = %v", cidr, errs)
		}
	}
	if !IsDualStack([]string{"10.0.0.1", "fd00::1"}, false) || IsDualStack([]string{"10.0.0.1", "10.0.0.2"}, false) {
		t.Error("IsDualStack")
	}
	if errs := ValidateNonSpecialIP("127.0.0.1", p); len(errs) != 1 || errs[0].Detail != "may not be in the loopback range (127.0.0.0/8, ::1/128)" {
		t.Errorf("loopback: %v", errs)
	}
}

func TestEnvAndKeys(t *testing.T) {
	for name, ok := range map[string]bool{"PATH": true, "my.env-name": true, "_x": true, "1A": false, "A B": false, "..": false} {
		if got := IsEnvVarName(name); (len(got) == 0) != ok {
			t.Errorf("IsEnvVarName(%q) = %q", name, got)
		}
	}
	for key, ok := range map[string]bool{"key.name": true, "KEY_NAME": true, "a/b": false, ".": false, "..x": false} {
		if got := IsConfigMapKey(key); (len(got) == 0) != ok {
			t.Errorf("IsConfigMapKey(%q) = %q", key, got)
		}
	}
	if got := IsConfigMapKey(".."); !reflect.DeepEqual(got, []string{"must not be '..'"}) {
		t.Errorf("IsConfigMapKey(..) = %q", got)
	}
	if got := IsValidPercent("25%"); got != nil {
		t.Errorf("25%%: %q", got)
	}
	if got := IsValidPercent("25"); len(got) != 1 {
		t.Errorf("25: %q", got)
	}
}
