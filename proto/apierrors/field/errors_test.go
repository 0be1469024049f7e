package field

import (
	"errors"
	"testing"
)

func TestPathString(t *testing.T) {
	cases := []struct {
		p    *Path
		want string
	}{
		{NewPath("spec"), "spec"},
		{NewPath("spec").Child("containers").Index(0).Child("ports").Index(1).Child("containerPort"),
			"spec.containers[0].ports[1].containerPort"},
		{NewPath("metadata", "labels").Key("app"), "metadata.labels[app]"},
		{NewPath("spec").Child("template", "spec"), "spec.template.spec"},
		{NewPath("data").Key("a.b").Child("x"), "data[a.b].x"},
	}
	for _, c := range cases {
		if got := c.p.String(); got != c.want {
			t.Errorf("got %q want %q", got, c.want)
		}
	}
	// Child must not modify its parent.
	parent := NewPath("spec")
	_ = parent.Child("a")
	_ = parent.Child("b", "c")
	if parent.String() != "spec" {
		t.Errorf("parent changed: %q", parent.String())
	}
}

func TestErrorMessages(t *testing.T) {
	port := 70000
	var nilp *string
	cases := []struct {
		err  *Error
		want string
	}{
		{Required(NewPath("spec", "containers").Index(0).Child("image"), ""),
			"spec.containers[0].image: Required value"},
		{Required(NewPath("spec", "selector"), "must match labels"),
			"spec.selector: Required value: must match labels"},
		{Invalid(NewPath("metadata", "name"), "Foo", "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"),
			`metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`},
		{Invalid(NewPath("spec", "replicas"), int32(-1), "must be greater than or equal to 0"),
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		{Invalid(NewPath("port"), port, "out of range"), "port: Invalid value: 70000: out of range"},
		{Invalid(NewPath("x"), nilp, "bad"), "x: Invalid value: \"null\": bad"},
		{NotSupported(NewPath("spec", "restartPolicy"), "Sometimes", []string{"Always", "Never", "OnFailure"}),
			`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"`},
		{Duplicate(NewPath("spec", "containers").Index(1).Child("name"), "web"),
			`spec.containers[1].name: Duplicate value: "web"`},
		{Forbidden(NewPath("spec", "nodeName"), "may not be changed"), "spec.nodeName: Forbidden: may not be changed"},
		{TooLong(NewPath("metadata", "name"), "xxxx", 63), "metadata.name: Too long: may not be more than 63 bytes"},
		{NotFound(NewPath("spec", "volumes"), "data"), `spec.volumes: Not found: "data"`},
		{TooMany(NewPath("items"), 5, 1), "items: Too many: 5: must have at most 1 item"},
		{InternalError(NewPath("x"), errors.New("boom")), "x: Internal error: boom"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

func TestToAggregate(t *testing.T) {
	if ErrorList(nil).ToAggregate() != nil {
		t.Fatal("empty list must aggregate to nil")
	}
	one := ErrorList{Required(NewPath("a"), "")}
	if got := one.ToAggregate().Error(); got != "a: Required value" {
		t.Errorf("one: %q", got)
	}
	two := ErrorList{Required(NewPath("a"), ""), Required(NewPath("a"), ""), Forbidden(NewPath("b"), "no")}
	if got := two.ToAggregate().Error(); got != "[a: Required value, b: Forbidden: no]" {
		t.Errorf("two: %q", got)
	}
	var fe *Error
	if !errors.As(two.ToAggregate(), &fe) || fe.Field != "a" {
		t.Errorf("errors.As through aggregate failed")
	}
}
