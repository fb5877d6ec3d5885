// Command recorder is a child process for the secret-hygiene tests: it
// writes down the argv, the environment and the stdin it was given, then
// does its job, so a test can check that no secret reached it other than
// through the channel meant for it.
//
// Its job depends on the name it runs under:
//
//   - age-plugin-recorder: an age plugin (filippo.io/age/plugin) whose
//     identity AGE-PLUGIN-RECORDER-1… carries an X25519 identity; it wraps
//     and unwraps file keys with it. The plugin protocol is on stdin and
//     stdout, so stdin is not recorded. With RECORDER_PIN set, it asks the
//     client for a PIN (request-secret) before it unwraps, as
//     age-plugin-yubikey does, and fails on a wrong one.
//   - docker-credential-recorder: a credential helper that answers list and
//     get from the JSON file named by RECORDER_STORE ({"url": {"Username":
//     …, "Secret": …}}), as a helper another tool imports from would. Its
//     stdin (the server URL of a get) is recorded.
//
// Each run appends one JSON line {"name", "argv", "env", "stdin"} to the
// file named by RECORDER_LOG. It is built by the tests (go build); it is not
// part of the helper.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

type record struct {
	Name  string   `json:"name"`
	Argv  []string `json:"argv"`
	Env   []string `json:"env"`
	Stdin string   `json:"stdin,omitempty"`
}

func main() {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	switch {
	case strings.HasPrefix(name, "age-plugin-"):
		if err := write(record{Name: name, Argv: os.Args, Env: os.Environ()}); err != nil {
			fmt.Fprintln(os.Stderr, "recorder:", err)
			os.Exit(1)
		}
		os.Exit(runPlugin())
	case strings.HasPrefix(name, "docker-credential-"):
		os.Exit(runHelper(name))
	}
	fmt.Fprintf(os.Stderr, "recorder: unknown name %q\n", name)
	os.Exit(2)
}

// write appends r to RECORDER_LOG. One write call of a line opened with
// O_APPEND, so concurrent runs do not interleave.
func write(r record) error {
	path := os.Getenv("RECORDER_LOG")
	if path == "" {
		return fmt.Errorf("RECORDER_LOG is not set")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runPlugin() int {
	p, err := plugin.New("recorder")
	if err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		return 1
	}
	p.HandleIdentity(func(data []byte) (age.Identity, error) {
		id, err := age.ParseX25519Identity(string(data))
		if err != nil || os.Getenv("RECORDER_PIN") == "" {
			return id, err
		}
		return &pinIdentity{p: p, id: id, pin: os.Getenv("RECORDER_PIN")}, nil
	})
	p.HandleIdentityAsRecipient(func(data []byte) (age.Recipient, error) {
		id, err := age.ParseX25519Identity(string(data))
		if err != nil {
			return nil, err
		}
		return id.Recipient(), nil
	})
	return p.Main()
}

type cred struct {
	Username, Secret string
}

func runHelper(name string) int {
	in, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		return 1
	}
	if err := write(record{Name: name, Argv: os.Args, Env: os.Environ(), Stdin: string(in)}); err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		return 1
	}
	b, err := os.ReadFile(os.Getenv("RECORDER_STORE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		return 1
	}
	store := map[string]cred{}
	if err := json.Unmarshal(b, &store); err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		return 1
	}
	if len(os.Args) != 2 {
		fmt.Println("usage: list | get")
		return 1
	}
	switch os.Args[1] {
	case "list":
		out := map[string]string{}
		for u, c := range store {
			out[u] = c.Username
		}
		b, _ := json.Marshal(out)
		os.Stdout.Write(b)
		return 0
	case "get":
		u := strings.TrimSpace(string(in))
		c, ok := store[u]
		if !ok {
			fmt.Println("credentials not found in native keychain")
			return 1
		}
		b, _ := json.Marshal(map[string]string{"ServerURL": u, "Username": c.Username, "Secret": c.Secret})
		os.Stdout.Write(b)
		return 0
	}
	fmt.Printf("unknown action %q\n", os.Args[1])
	return 1
}

// pinIdentity asks for a PIN before it unwraps.
type pinIdentity struct {
	p   *plugin.Plugin
	id  *age.X25519Identity
	pin string
}

func (i *pinIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	i.p.DisplayMessage("touch your recorder key")
	pin, err := i.p.RequestValue("Enter the PIN for the recorder key:", true)
	if err != nil {
		return nil, err
	}
	if pin != i.pin {
		return nil, fmt.Errorf("wrong PIN")
	}
	return i.id.Unwrap(stanzas)
}
