package main

import (
	"bytes"
	"fmt"
	"strings"
)

// man renders the man page in section 1, in plain man(7) macros. It carries
// no date and no version, so that it changes only when the commands do.
func man(p *program) []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w(".\\\" %s\n", generatedNotice)
	w(".TH %s 1 \"\" \"%s\" \"User Commands\"\n", strings.ToUpper(p.Name), p.Name)
	w(".SH NAME\n%s \\- %s\n", p.Name, roff(p.Usage))
	w(".SH SYNOPSIS\n.nf\n")
	for _, l := range p.UsageText {
		w("%s\n", roffLine(l))
	}
	w(".fi\n")
	w(".SH DESCRIPTION\n")
	w("%s\n", roffLine(p.Name+" is a credential helper: docker, notation, oras, crane, regctl, skopeo, podman, buildah, helm and cosign run it "+
		"with one protocol action and the payload on standard input, and it answers on standard output. "+
		"The credentials are kept in an age-encrypted file or in the OS keychain."))
	w(".PP\n%s\n", roffLine("To start using it, move existing plaintext credentials in and point the clients at it:"))
	w(".PP\n.RS\n.nf\n%s import \\-\\-remove\\-plaintext\n%s configure\n%s doctor\n.fi\n.RE\n", p.Name, p.Name, p.Name)
	w(".SH OPTIONS\n")
	manFlags(&b, p.Flags)
	w(".SH PROTOCOL ACTIONS\n")
	w("%s\n", roffLine("These read their input on standard input and take no arguments."))
	for _, c := range p.Commands {
		if c.Protocol {
			w(".TP\n.B %s\n%s\n", c.Name, roffLine(c.Usage))
		}
	}
	w(".SH COMMANDS\n")
	for _, c := range p.Commands {
		if c.Protocol {
			continue
		}
		w(".SS %s\n.nf\n", c.Name)
		for _, l := range c.UsageText {
			w("%s\n", roffLine(l))
		}
		w(".fi\n.PP\n%s\n", roffLine(upperFirst(c.Usage)+"."))
		if c.Description != "" {
			w(".PP\n%s\n", roffLine(strings.Join(strings.Fields(c.Description), " ")))
		}
		manFlags(&b, c.Flags)
	}
	w(".SH ENVIRONMENT\n")
	for _, e := range environment {
		def := ""
		if e.Default != "" {
			def = " (default " + e.Default + ")"
		}
		w(".TP\n.B %s\n%s\n", roff(e.Name), roffLine(upperFirst(e.Usage)+def+"."))
	}
	w(".SH EXIT STATUS\n%s\n", roffLine(strings.ReplaceAll(strings.Join(strings.Fields(exitStatus), " "), "`", "")))
	w(".SH SEE ALSO\n.BR docker (1),\n.BR notation (1),\n.BR age (1)\n")
	return b.Bytes()
}

func manFlags(b *bytes.Buffer, flags []option) {
	for _, f := range flags {
		head := "\\fB\\-\\-" + roff(f.Long) + "\\fR"
		if f.Value != "" {
			head += " \\fI" + roff(f.Value) + "\\fR"
		}
		if f.Short != "" {
			head += ", \\fB\\-" + roff(f.Short) + "\\fR"
		}
		usage := upperFirst(f.Usage)
		if f.Required {
			usage += " (required)"
		}
		if f.Default != "" {
			usage += " (default " + f.Default + ")"
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", head, roffLine(usage+"."))
	}
}

// roff escapes text for use inside a line: backslashes and hyphens, and the
// few non-ASCII characters the usage strings use, which not every troff
// reads.
func roff(s string) string {
	r := strings.NewReplacer(
		`\`, `\e`,
		"-", `\-`,
		"…", "...",
		"—", `\(em`,
		"–", `\(en`,
		"’", "'",
		"‘", "'",
		"“", `"`,
		"”", `"`,
	)
	return r.Replace(s)
}

// roffLine escapes one line of text: a leading '.' or '\” would be read as
// a request, so \& guards it.
func roffLine(s string) string {
	s = roff(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
