package main

import (
	"regexp"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/internal/cli"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/registryauth"
)

// program is what the generators know of the command line: a plain copy of
// the urfave/cli definition, with the value placeholders and completions
// worked out once.
type program struct {
	Name      string
	Usage     string
	UsageText []string
	Flags     []option
	Commands  []command
}

type command struct {
	Name        string
	Usage       string
	UsageText   []string
	Description string
	// Protocol is true for the actions that clients run (store, get, …).
	Protocol bool
	Flags    []option
	// TakesCommand is true for help, whose argument is a command name.
	TakesCommand bool
}

type option struct {
	// Long is the flag's name, Short its one-letter alias if any.
	Long, Short string
	Usage       string
	// Value is the placeholder of the flag's value; empty for a boolean.
	Value      string
	Default    string
	Required   bool
	Repeatable bool
	// Choices are the fixed values the flag takes, for completion.
	Choices []string
	// Files is true when the value may be a path.
	Files bool
	// Helpers is true when the value names a docker-credential-* helper.
	Helpers bool
}

var helpFlag = option{Long: "help", Short: "h", Usage: "show help"}

// newProgram reads the app definition. The app is the one the binary runs
// (cli.NewApp); nothing in it is executed.
func newProgram() *program {
	app := cli.NewApp(&cli.Env{})
	p := &program{
		Name:      app.Name,
		Usage:     app.Usage,
		UsageText: lines(app.UsageText),
	}
	for _, f := range app.VisibleFlags() {
		p.Flags = append(p.Flags, newFlag(f, ""))
	}
	p.Flags = append(p.Flags, helpFlag)
	for _, c := range app.VisibleCommands() {
		cmd := command{
			Name:        c.Name,
			Usage:       c.Usage,
			UsageText:   lines(c.UsageText),
			Description: c.Description,
			Protocol:    c.Category == "protocol",
		}
		if len(cmd.UsageText) == 0 {
			cmd.UsageText = []string{app.Name + " " + c.Name}
		}
		for _, f := range c.VisibleFlags() {
			cmd.Flags = append(cmd.Flags, newFlag(f, c.UsageText))
		}
		cmd.Flags = append(cmd.Flags, helpFlag)
		p.Commands = append(p.Commands, cmd)
	}
	// urfave/cli adds the help command when the app runs.
	if !app.HideHelpCommand {
		p.Commands = append(p.Commands, command{
			Name:         "help",
			Usage:        "show the list of commands, or the help of one command",
			UsageText:    []string{app.Name + " help [command]"},
			Flags:        []option{helpFlag},
			TakesCommand: true,
		})
	}
	return p
}

func lines(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(strings.TrimSpace(s), "\n")
}

// placeholderRE finds the placeholder a command's usage text gives a flag's
// value: HOST in "--registry HOST", docker|notation|PATH in
// "--from-config docker|notation|PATH".
var placeholderRE = regexp.MustCompile(`^[A-Za-z_|]+$`)

func newFlag(f ucli.Flag, usageText string) option {
	names := f.Names()
	out := option{Long: names[0]}
	for _, n := range names[1:] {
		if len(n) == 1 {
			out.Short = n
		}
	}
	if df, ok := f.(ucli.DocGenerationFlag); ok {
		out.Usage = df.GetUsage()
		if df.TakesValue() {
			out.Value = placeholder(out.Long, usageText, f)
			if _, isBool := f.(*ucli.BoolFlag); !isBool {
				out.Default = df.GetDefaultText()
			}
		}
	}
	if rf, ok := f.(ucli.RequiredFlag); ok {
		out.Required = rf.IsRequired()
	}
	switch f.(type) {
	case *ucli.StringSliceFlag, *ucli.IntSliceFlag, *ucli.Int64SliceFlag, *ucli.Float64SliceFlag, *ucli.UintSliceFlag, *ucli.Uint64SliceFlag:
		out.Repeatable = true
	}
	for _, alt := range strings.Split(out.Value, "|") {
		switch {
		case alt == "PATH" || alt == "FILE" || alt == "DIR":
			out.Files = true
		case len(out.Value) > len(alt) && alt == strings.ToLower(alt):
			out.Choices = append(out.Choices, alt)
		}
	}
	// The one flag whose value is another program's name.
	out.Helpers = out.Long == "from-helper"
	return out
}

// placeholder names a flag's value: as the command's usage text writes it,
// DURATION for a duration, and otherwise the last word of the flag's name.
func placeholder(name, usageText string, f ucli.Flag) string {
	words := strings.Fields(usageText)
	for i := 0; i+1 < len(words); i++ {
		if strings.TrimLeft(words[i], "[") != "--"+name {
			continue
		}
		v := strings.TrimRight(words[i+1], "].")
		if placeholderRE.MatchString(v) && (strings.Contains(v, "|") || v == strings.ToUpper(v)) {
			return v
		}
	}
	if _, ok := f.(*ucli.DurationFlag); ok {
		return "DURATION"
	}
	parts := strings.Split(name, "-")
	return strings.ToUpper(parts[len(parts)-1])
}

// envVar is one environment variable the program reads.
type envVar struct {
	Name, Default, Usage string
}

// environment lists the variables, in the order the README's table gives
// them. TestEnvironmentComplete fails when the source declares one that is
// missing here.
var environment = []envVar{
	{config.EnvConfig, "<helper dir>/config.json", "the config file to read; a missing file is fine"},
	{config.EnvBackend, "auto", "auto, file or keychain: auto keeps to the backend that holds the credentials, and otherwise uses the keychain when one answers and the encrypted file when not"},
	{config.EnvStoreDir, "<helper dir>", "the directory of the file store, its generated key and its lock (an absolute path)"},
	{config.EnvKeySource, "auto", "the key that encrypts the store: auto, identity, identity-file, passphrase, generated, protected or keychain"},
	{config.EnvIdentity, "", "age identities, one per line; read from the environment only"},
	{config.EnvIdentityFile, "", "the path of an age identity file (an absolute path)"},
	{config.EnvPassphrase, "", "a passphrase that encrypts the store (age scrypt); read from the environment only"},
	{config.EnvDebug, "0", "1 writes a trace of each call to stderr, secrets redacted"},
	{config.EnvUnlockFor, "8h", "how long a protected key stays unlocked in the kernel keyring (unlock's default, and after a prompt)"},
	{config.EnvHTTPTimeout, registryauth.DefaultTimeout.String(), "the bound on each request of token, check and doctor --registry"},
	{cli.EnvInsecureRegistries, "", "hosts (host[:port], comma-separated) that may be reached over plain HTTP"},
	{config.EnvCertsDirs, "", "certs.d directories to read instead of docker's (a path list)"},
}
