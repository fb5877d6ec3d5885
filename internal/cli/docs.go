package cli

import ucli "github.com/urfave/cli/v2"

// NewApp returns the command line's definition, for the documentation
// generator (internal/cmd/gendocs): the man page, the command reference and
// the shell completions are all produced from it, so they cannot describe a
// command or a flag that the program does not have. The generator lives
// outside the binary, which is built without urfave/cli's own docs code.
//
// Nothing is run: the app is returned as Run would build it, before
// urfave/cli adds its help command and flags.
func NewApp(env *Env) *ucli.App {
	return newApp(env)
}
