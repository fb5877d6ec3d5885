package helper_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// TestCredentialsFormatHidesSecret checks every way a Credentials can reach
// a log line or an error message.
func TestCredentialsFormatHidesSecret(t *testing.T) {
	const secret = "hunter2-S3CR3T"
	c := helper.Credentials{ServerURL: "https://registry.example.com/", Username: "alice", Secret: secret}
	type wrapper struct{ C helper.Credentials }
	formats := []struct {
		name string
		text string
	}{
		{"String", c.String()},
		{"GoString", c.GoString()},
		{"%v", fmt.Sprintf("%v", c)},
		{"%+v", fmt.Sprintf("%+v", c)},
		{"%#v", fmt.Sprintf("%#v", c)},
		{"%s", fmt.Sprintf("%s", c)},
		{"%q", fmt.Sprintf("%q", c)},
		{"%x", fmt.Sprintf("%x", c)},
		{"%X", fmt.Sprintf("%X", c)},
		{"%d", fmt.Sprintf("%d", c)},
		{"%20.3v", fmt.Sprintf("%20.3v", c)},
		{"pointer %v", fmt.Sprintf("%v", &c)},
		{"pointer %+v", fmt.Sprintf("%+v", &c)},
		{"pointer %#v", fmt.Sprintf("%#v", &c)},
		{"slice %v", fmt.Sprintf("%v", []helper.Credentials{c})},
		{"slice %#v", fmt.Sprintf("%#v", []helper.Credentials{c})},
		{"map %v", fmt.Sprintf("%v", map[string]helper.Credentials{"k": c})},
		{"field %+v", fmt.Sprintf("%+v", wrapper{c})},
		{"field %#v", fmt.Sprintf("%#v", wrapper{c})},
		{"Sprint", fmt.Sprint(c)},
		{"Sprintln", fmt.Sprintln(c)},
		{"Errorf %v", fmt.Errorf("failed to store %v: boom", c).Error()},
		{"Errorf %+v wrapped", fmt.Errorf("outer: %w", fmt.Errorf("failed to store %+v", c)).Error()},
		{"errors.New Sprint", errors.New(fmt.Sprint("bad ", c)).Error()},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			if strings.Contains(f.text, secret) || strings.Contains(f.text, "S3CR3T") {
				t.Errorf("%s = %q: contains the secret", f.name, f.text)
			}
			if !strings.Contains(f.text, "alice") || !strings.Contains(f.text, "registry.example.com") {
				t.Errorf("%s = %q: want the username and the server URL", f.name, f.text)
			}
			// %x and %d have nothing sensible to show; the others say that a
			// secret exists without showing it.
			if !strings.Contains(f.text, "<redacted>") {
				t.Errorf("%s = %q: want it to say the secret is redacted", f.name, f.text)
			}
		})
	}
}

func TestCredentialsStringEmptySecret(t *testing.T) {
	c := helper.Credentials{ServerURL: "registry.example.com", Username: "<token>"}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "<redacted>") || !strings.Contains(s, "<empty>") {
			t.Errorf("an empty secret formats as %q, want it to say <empty>", s)
		}
		if !strings.Contains(s, `"<token>"`) {
			t.Errorf("%q does not name the username", s)
		}
	}
}

func TestCredentialsGoString(t *testing.T) {
	c := helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "pw"}
	want := `helper.Credentials{ServerURL:"registry.example.com" Username:"alice" Secret:<redacted>}`
	if got := fmt.Sprintf("%#v", c); got != want {
		t.Errorf("%%#v = %s, want %s", got, want)
	}
	if got := c.GoString(); got != want {
		t.Errorf("GoString = %s, want %s", got, want)
	}
}

// TestCredentialsStringQuotes checks that user-controlled fields cannot
// forge a line or a fake field in a log.
func TestCredentialsStringQuotes(t *testing.T) {
	c := helper.Credentials{ServerURL: "registry.example.com", Username: "alice\nSecret:visible", Secret: "pw"}
	s := c.String()
	if strings.Contains(s, "\n") {
		t.Errorf("String() = %q contains a raw newline", s)
	}
}

func TestIdentityTokenUsername(t *testing.T) {
	if helper.IdentityTokenUsername != "<token>" {
		t.Errorf("IdentityTokenUsername = %q, want %q", helper.IdentityTokenUsername, "<token>")
	}
}
