package main

import (
	"bytes"
	"fmt"
	"strings"
)

// The completion scripts are static: they list the commands and flags of the
// definition they were generated from, and run nothing but the shell (the
// binary has no completion mode, and a completion must never open the store,
// which could ask for a passphrase). The values they offer: a flag's fixed
// choices, file names where a flag takes a path, and for --from-helper the
// docker-credential-* programs on PATH.

func (p *program) commandNames() []string {
	var names []string
	for _, c := range p.Commands {
		names = append(names, c.Name)
	}
	return names
}

func flagWords(flags []option) string {
	var words []string
	for _, f := range flags {
		words = append(words, "--"+f.Long)
		if f.Short != "" {
			words = append(words, "-"+f.Short)
		}
	}
	return strings.Join(words, " ")
}

func funcName(p *program) string {
	return "_" + strings.ReplaceAll(p.Name, "-", "_")
}

// bash renders the completion for bash; it needs no bash-completion helper.
func bash(p *program) []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	fn := funcName(p)
	w("# bash completion for %s\n# %s\n\n", p.Name, generatedNotice)
	w("%s() {\n", fn)
	w("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n")
	w("\tlocal cmd= i\n")
	w("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
	w("\t\tcase ${COMP_WORDS[i]} in\n\t\t-*) ;;\n\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n\t\tesac\n\tdone\n")
	w("\tCOMPREPLY=()\n")
	w("\tcase $cmd in\n")
	w("\t'')\n")
	w("\t\tif [[ $cur == -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", flagWords(p.Flags))
	w("\t\telse\n\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n\t\tfi\n\t\treturn\n\t\t;;\n", strings.Join(p.commandNames(), " "))
	for _, c := range p.Commands {
		w("\t%s)\n", c.Name)
		var valued []option
		for _, f := range c.Flags {
			if f.Value != "" {
				valued = append(valued, f)
			}
		}
		if len(valued) > 0 {
			w("\t\tcase $prev in\n")
			for _, f := range valued {
				pat := "--" + f.Long
				if f.Short != "" {
					pat += "|-" + f.Short
				}
				w("\t\t%s)\n", pat)
				switch {
				case f.Helpers:
					w("\t\t\tCOMPREPLY=($(compgen -c -- \"docker-credential-$cur\" | sed -n 's/^docker-credential-//p' | sort -u))\n")
				case len(f.Choices) > 0:
					w("\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", strings.Join(f.Choices, " "))
				}
				if f.Files {
					w("\t\t\tCOMPREPLY+=($(compgen -f -- \"$cur\"))\n")
				}
				w("\t\t\treturn\n\t\t\t;;\n")
			}
			w("\t\tesac\n")
		}
		w("\t\tif [[ $cur == -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", flagWords(c.Flags))
		if c.TakesCommand {
			w("\t\telif [[ $prev == %s ]]; then\n\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", c.Name, strings.Join(p.commandNames(), " "))
		}
		w("\t\tfi\n\t\t;;\n")
	}
	w("\tesac\n}\n\n")
	w("complete -F %s %s\n", fn, p.Name)
	return b.Bytes()
}

// zshQuote quotes s for a single-quoted zsh word, and escapes the brackets
// and colons that _arguments and _describe give a meaning to.
func zshQuote(s string, colons bool) string {
	r := []string{`\`, `\\`, "[", `\[`, "]", `\]`, "'", `'\''`}
	if colons {
		r = append(r, ":", `\:`)
	}
	return strings.NewReplacer(r...).Replace(s)
}

// zsh renders the completion for zsh: a #compdef function file.
func zsh(p *program) []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	fn := "_" + p.Name
	w("#compdef %s\n# zsh completion for %s\n# %s\n\n", p.Name, p.Name, generatedNotice)
	w("%s() {\n", fn)
	w("\tlocal curcontext=$curcontext state line ret=1\n\ttypeset -A opt_args\n")
	w("\tlocal -a cmds\n\tcmds=(\n")
	for _, c := range p.Commands {
		w("\t\t'%s:%s'\n", c.Name, zshQuote(c.Usage, false))
	}
	w("\t)\n")
	w("\t_arguments -C \\\n")
	for _, f := range p.Flags {
		w("\t\t%s \\\n", zshFlag(f, "'(- *)'"))
	}
	w("\t\t'1: :->command' \\\n\t\t'*:: :->args' && ret=0\n")
	w("\tcase $state in\n")
	w("\tcommand)\n\t\t_describe -t commands '%s command' cmds && ret=0\n\t\t;;\n", p.Name)
	w("\targs)\n\t\tcurcontext=${curcontext%%:*:*}:%s-$words[1]:\n", p.Name)
	w("\t\tcase $words[1] in\n")
	for _, c := range p.Commands {
		w("\t\t%s)\n\t\t\t_arguments \\\n", c.Name)
		for _, f := range c.Flags {
			w("\t\t\t\t%s \\\n", zshFlag(f, ""))
		}
		if c.TakesCommand {
			w("\t\t\t\t'1: :->command' && ret=0\n")
			w("\t\t\t[[ $state == command ]] && _describe -t commands '%s command' cmds && ret=0\n", p.Name)
		} else {
			w("\t\t\t\t'*: :_default' && ret=0\n")
		}
		w("\t\t\t;;\n")
	}
	w("\t\tesac\n\t\t;;\n\tesac\n\treturn ret\n}\n\n")
	w("if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n\t%s \"$@\"\nelse\n\tcompdef %s %s\nfi\n", fn, fn, p.Name)
	return b.Bytes()
}

func zshFlag(f option, exclusive string) string {
	desc := "[" + zshQuote(f.Usage, false) + "]"
	action := ""
	if f.Value != "" {
		act := " "
		switch {
		case f.Helpers:
			act = "{compadd -- ${${(k)commands[(I)docker-credential-*]}#docker-credential-}}"
		case len(f.Choices) > 0 && f.Files:
			act = "_alternative 'values:value:(" + strings.Join(f.Choices, " ") + ")' 'files:file:_files'"
		case len(f.Choices) > 0:
			act = "(" + strings.Join(f.Choices, " ") + ")"
		case f.Files:
			act = "_files"
		}
		action = ":" + zshQuote(strings.ToLower(f.Value), true) + ":" + strings.ReplaceAll(act, "'", `'\''`)
	}
	rep := ""
	if f.Repeatable {
		rep = "*"
	}
	long := "--" + f.Long
	if f.Value != "" {
		long += "="
	}
	if f.Short == "" {
		spec := "'" + rep + long + desc + action + "'"
		if exclusive != "" {
			spec = exclusive + spec
		}
		return spec
	}
	short := "-" + f.Short
	if f.Value != "" {
		short += "+"
	}
	ex := exclusive
	if ex == "" && !f.Repeatable {
		ex = "'(" + "-" + f.Short + " --" + f.Long + ")'"
	}
	return ex + rep + "{" + short + "," + long + "}'" + desc + action + "'"
}

// fish renders the completion for fish.
func fish(p *program) []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# fish completion for %s\n# %s\n\n", p.Name, generatedNotice)
	w("complete -c %s -f\n", p.Name)
	cond := "__fish_use_subcommand"
	for _, f := range p.Flags {
		w("complete -c %s -n %s%s\n", p.Name, cond, fishFlag(f))
	}
	for _, c := range p.Commands {
		w("complete -c %s -n %s -a %s -d %s\n", p.Name, cond, c.Name, fishQuote(c.Usage))
	}
	for _, c := range p.Commands {
		in := fishQuote("__fish_seen_subcommand_from " + c.Name)
		for _, f := range c.Flags {
			w("complete -c %s -n %s%s\n", p.Name, in, fishFlag(f))
		}
		if c.TakesCommand {
			w("complete -c %s -n %s -a %s\n", p.Name, in, fishQuote(strings.Join(p.commandNames(), " ")))
		}
	}
	return b.Bytes()
}

func fishFlag(f option) string {
	s := " -l " + f.Long
	if f.Short != "" {
		s += " -s " + f.Short
	}
	if f.Value != "" {
		s += " -r"
		switch {
		case f.Helpers:
			s += " -a " + fishQuote(`(complete -C docker-credential- | string replace -rf '^docker-credential-([^\t]*).*' '$1')`)
		case len(f.Choices) > 0:
			s += " -a " + fishQuote(strings.Join(f.Choices, " "))
		}
		if f.Files {
			s += " -F"
		}
	}
	return s + " -d " + fishQuote(f.Usage)
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
