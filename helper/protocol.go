package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/docker/docker-credential-helpers/credentials"
)

// MaxPayload bounds what is read from stdin. Real payloads are a server URL
// or one credential; identity tokens of tens of KiB exist (the reference
// implementation's 64 KiB line limit is a known bug), so 1 MiB leaves ample
// room while keeping a runaway or hostile writer from exhausting memory.
const MaxPayload = 1 << 20

// The protocol's actions.
const (
	ActionStore   = credentials.ActionStore
	ActionGet     = credentials.ActionGet
	ActionErase   = credentials.ActionErase
	ActionList    = credentials.ActionList
	ActionVersion = credentials.ActionVersion
)

// ProgramName is the program's name, as clients call it and as its
// messages begin.
const ProgramName = "docker-credential-notation"

// IsAction reports whether name is one of the protocol's actions.
func IsAction(name string) bool {
	switch name {
	case ActionStore, ActionGet, ActionErase, ActionList, ActionVersion:
		return true
	}
	return false
}

// Handle runs one protocol action against s, reading the payload from in and
// writing the answer to out, like docker-credential-helpers' HandleCommand.
// It never writes an error to out: the caller writes [WireMessage] of the
// returned error to stdout and exits 1. The version action is the caller's,
// because only it knows the program's version.
func Handle(ctx context.Context, s Store, action string, in io.Reader, out io.Writer) error {
	switch action {
	case ActionStore:
		return storeAction(ctx, s, in)
	case ActionGet:
		return getAction(ctx, s, in, out)
	case ActionErase:
		return eraseAction(ctx, s, in)
	case ActionList:
		return listAction(ctx, s, out)
	}
	return fmt.Errorf("unknown action: %s", action)
}

// readPayload reads all of in, up to MaxPayload, and rejects what no client
// sends: more than MaxPayload bytes, invalid UTF-8 and NUL bytes.
func readPayload(in io.Reader) ([]byte, error) {
	if in == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(in, MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read stdin: %v", err)
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("invalid input: stdin is larger than %d bytes", MaxPayload)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("invalid input: stdin is not valid UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, errors.New("invalid input: stdin contains a NUL byte")
	}
	return b, nil
}

// readServerURL reads the payload of get and erase: a server URL, with
// surrounding white space trimmed as the reference implementation does.
func readServerURL(in io.Reader) (string, Key, error) {
	b, err := readPayload(in)
	if err != nil {
		return "", Key{}, err
	}
	raw := strings.TrimSpace(string(b))
	if raw == "" {
		return "", Key{}, ErrMissingServerURL
	}
	k, err := ParseServerURL(raw)
	return raw, k, err
}

// decodeCredentials parses the payload of store: one JSON object with the
// fields ServerURL, Username and Secret (names matched case-insensitively,
// other fields ignored), and checks it as the reference implementation does.
func decodeCredentials(b []byte) (Credentials, Key, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return Credentials{}, Key{}, errors.New("invalid input: stdin is empty, expected a JSON object with ServerURL, Username and Secret")
	}
	var c credentials.Credentials
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil {
		return Credentials{}, Key{}, fmt.Errorf("invalid input: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Credentials{}, Key{}, errors.New("invalid input: unexpected data after the JSON object")
	}
	if c.ServerURL == "" {
		return Credentials{}, Key{}, ErrMissingServerURL
	}
	if c.Username == "" {
		return Credentials{}, Key{}, ErrMissingUsername
	}
	k, err := ParseServerURL(c.ServerURL)
	if err != nil {
		return Credentials{}, Key{}, err
	}
	if strings.ContainsFunc(c.Username, isControl) {
		return Credentials{}, Key{}, errors.New("invalid input: Username contains a control character")
	}
	return Credentials{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret}, k, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// describeJSONError turns encoding/json's errors into a message that names
// the problem without quoting the input, which may hold a secret.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("expected a JSON object with ServerURL, Username and Secret, got a JSON %s", typ.Value)
		}
		return fmt.Sprintf("field %s must be a JSON string, got a JSON %s", typ.Field, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated JSON"
	}
	return "malformed JSON: " + err.Error()
}

func storeAction(ctx context.Context, s Store, in io.Reader) error {
	b, err := readPayload(in)
	if err != nil {
		return err
	}
	c, k, err := decodeCredentials(b)
	if err != nil {
		return err
	}
	return s.Put(ctx, k, c)
}

func getAction(ctx context.Context, s Store, in io.Reader, out io.Writer) error {
	raw, k, err := readServerURL(in)
	if err != nil {
		return err
	}
	c, err := s.Get(ctx, k)
	if err != nil {
		return err
	}
	// Encode as the reference does (json.Encoder, HTML escaping on), so the
	// bytes match: "<token>" is written as "\u003ctoken\u003e".
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(credentials.Credentials{
		ServerURL: raw,
		Username:  c.Username,
		Secret:    c.Secret,
	}); err != nil {
		return fmt.Errorf("failed to encode credentials: %v", err)
	}
	_, err = out.Write(buf.Bytes())
	return err
}

func eraseAction(ctx context.Context, s Store, in io.Reader) error {
	_, k, err := readServerURL(in)
	if err != nil {
		return err
	}
	return s.Delete(ctx, k)
}

func listAction(ctx context.Context, s Store, out io.Writer) error {
	m, err := s.List(ctx)
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]string{}
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(m); err != nil {
		return fmt.Errorf("failed to encode the list: %v", err)
	}
	_, err = out.Write(buf.Bytes())
	return err
}
