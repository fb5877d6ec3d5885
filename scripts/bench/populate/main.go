// Command populate fills the stores that scripts/bench/run.sh measures with
// n entries, quickly: one write for the whole file store, one encrypted file
// copied n times for pass, one D-Bus call per entry for the Secret Service,
// one JSON file for the ECR and gcr caches. Each entry is what docker would
// store for a registry login: a server URL, a username and an 800-byte
// secret (the size of a typical registry token).
//
// Usage:
//
//	populate notation-file -dir DIR -n N
//	populate pass -dir PASSWORD_STORE_DIR -template FILE.gpg -from A -to B
//	populate secretservice -from A -to B
//	populate notation-keychain -from A -to B
//	populate via-binary -bin HELPER -from A -to B
//	populate ecr -dir DIR -n N -access-key-id ID -region REGION
//	populate gcr -file FILE
//	populate token-server -file URLFILE   (refresh and token-exchange grants)
//
// Entry i has server URL registry-NNNNN.example.com and username userNNNNN
// (NNNNN is i in five digits); run.sh asks for the same names. The ECR cache
// holds registries 100000000000+i instead.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	ss "github.com/zalando/go-keyring/secret_service"

	"github.com/notaryproject/docker-credential-notation/filestore"
	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/keyring"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: populate notation-file|pass|secretservice|via-binary|ecr|gcr [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	dir := fs.String("dir", "", "store directory")
	n := fs.Int("n", 0, "number of entries (the whole store)")
	from := fs.Int("from", 0, "first entry to add")
	to := fs.Int("to", 0, "entry after the last to add")
	secretBytes := fs.Int("secret-bytes", 800, "length of each secret")
	template := fs.String("template", "", "pass: an encrypted entry to copy")
	bin := fs.String("bin", "", "via-binary: the helper to run")
	accessKeyID := fs.String("access-key-id", "", "ecr: AWS_ACCESS_KEY_ID")
	region := fs.String("region", "us-east-1", "ecr: AWS region")
	file := fs.String("file", "", "gcr: the credential store file; token-server: where to write its URL")
	_ = fs.Parse(args)

	secret := makeSecret(*secretBytes)
	var err error
	switch cmd {
	case "notation-file":
		err = notationFile(*dir, *n, secret)
	case "pass":
		err = pass(*dir, *template, *from, *to)
	case "secretservice":
		err = secretService(*from, *to, secret)
	case "notation-keychain":
		err = notationKeychain(*from, *to, secret)
	case "via-binary":
		err = viaBinary(*bin, *from, *to, secret)
	case "ecr":
		err = ecr(*dir, *n, *accessKeyID, *region, secret)
	case "gcr":
		err = gcr(*file, secret)
	case "token-server":
		err = tokenServer(*file, secret)
	default:
		err = fmt.Errorf("unknown store %q", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "populate %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// serverURL is entry i's server URL.
func serverURL(i int) string { return fmt.Sprintf("registry-%05d.example.com", i) }

// username is entry i's username.
func username(i int) string { return fmt.Sprintf("user%05d", i) }

// makeSecret returns a token-like secret of n bytes (base64url characters).
func makeSecret(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%64]
	}
	return string(b)
}

// notationFile replaces the file store in dir with n entries, encrypted to
// the identity that the helper generated there (run.sh stores one entry
// through the helper first, which creates it). The document is written in
// the plain schema that filestore documents; the helper's next write
// rewrites it in its canonical layout, which run.sh makes happen before it
// measures anything.
func notationFile(dir string, n int, secret string) error {
	idFile := filepath.Join(dir, filestore.GeneratedIdentityName)
	f, err := os.Open(idFile)
	if err != nil {
		return err
	}
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("failed to parse %s: %v", idFile, err)
	}
	var r age.Recipient
	switch id := ids[0].(type) {
	case *age.HybridIdentity:
		r = id.Recipient()
	case *age.X25519Identity:
		r = id.Recipient()
	default:
		return fmt.Errorf("%s: unexpected identity type %T", idFile, id)
	}

	type entry struct {
		ServerURL string `json:"serverURL"`
		Username  string `json:"username"`
		Secret    string `json:"secret"`
	}
	doc := struct {
		Version int              `json:"version"`
		Entries map[string]entry `json:"entries"`
	}{filestore.SchemaVersion, make(map[string]entry, n)}
	for i := range n {
		k, err := helper.ParseServerURL(serverURL(i))
		if err != nil {
			return err
		}
		doc.Entries[k.String()] = entry{serverURL(i), username(i), secret}
	}
	plain, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return err
	}
	if _, err := w.Write(plain); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, filestore.StoreFileName), buf.Bytes())
}

// pass adds entries [from, to) to a pass store, where docker-credential-pass
// keeps them: docker-credential-helpers/<base64url(server URL)>/<username>.gpg.
// Every entry is a copy of template, one secret encrypted once with
// `pass insert`: gpg would take minutes for 10,000 entries and the copies
// decrypt the same way.
func pass(dir, template string, from, to int) error {
	data, err := os.ReadFile(template)
	if err != nil {
		return err
	}
	for i := from; i < to; i++ {
		d := filepath.Join(dir, "docker-credential-helpers", base64.URLEncoding.EncodeToString([]byte(serverURL(i))))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, username(i)+".gpg"), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// secretService adds entries [from, to) to the default collection as
// docker-credential-secretservice v0.9.13 stores them (its secretservice.c:
// schema io.docker.Credentials, attributes label, server, username and
// docker_cli, display label "Registry credentials for <server>"), one D-Bus
// call each instead of one helper process each.
func secretService(from, to int, secret string) error {
	svc, err := ss.NewSecretService()
	if err != nil {
		return err
	}
	session, err := svc.OpenSession()
	if err != nil {
		return err
	}
	defer svc.Close(session)
	// The alias libsecret's SECRET_COLLECTION_DEFAULT names, which the helper
	// stores into.
	coll := svc.Object("org.freedesktop.secrets", "/org/freedesktop/secrets/aliases/default")
	if err := svc.Unlock(coll.Path()); err != nil {
		return err
	}
	for i := from; i < to; i++ {
		attrs := map[string]string{
			"xdg:schema": "io.docker.Credentials",
			"label":      "Docker Credentials",
			"server":     serverURL(i),
			"username":   username(i),
			"docker_cli": "1",
		}
		if err := svc.CreateItem(coll, "Registry credentials for "+serverURL(i), attrs, ss.NewSecret(session.Path(), secret)); err != nil {
			return fmt.Errorf("entry %d: %v", i, err)
		}
	}
	return nil
}

// notationKeychain adds entries [from, to) to docker-credential-notation's
// keychain backend through keyring.Store.PutMany, the backend's own batch
// write (as import uses it): new entries in one transaction, n+1 keychain
// writes where n stores through the helper would make several each, every
// one of which makes gnome-keyring rewrite its whole keyring file. The write
// lock is the helper's (its default directory, as main.go opens it); run.sh
// checks afterwards that get and list see every entry, and stores and
// erases one entry through the helper.
func notationKeychain(from, to int, secret string) error {
	lockDir, err := config.DefaultDir(os.Getenv)
	if err != nil {
		return err
	}
	s, err := keyring.New(keyring.Options{Dir: lockDir, Timeout: 10 * time.Minute})
	if err != nil {
		return err
	}
	creds := make([]helper.Credentials, 0, to-from)
	for i := from; i < to; i++ {
		creds = append(creds, helper.Credentials{ServerURL: serverURL(i), Username: username(i), Secret: secret})
	}
	return s.PutMany(context.Background(), creds)
}

// viaBinary adds entries [from, to) by running `HELPER store` once each:
// slow, but it works for any backend a helper has.
func viaBinary(bin string, from, to int, secret string) error {
	for i := from; i < to; i++ {
		payload, err := json.Marshal(map[string]string{"ServerURL": serverURL(i), "Username": username(i), "Secret": secret})
		if err != nil {
			return err
		}
		cmd := exec.Command(bin, "store")
		cmd.Stdin = bytes.NewReader(payload)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("entry %d: %v: %s", i, err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

// ecrRegistryID is the AWS account of ECR cache entry i.
func ecrRegistryID(i int) string { return fmt.Sprint(100000000000 + i) }

// ecr writes the Amazon ECR credential helper's cache (v0.12.0,
// ecr-login/cache) with n fresh entries: the key is
// <region>-<base64(sha256(access key id))>-<registry id>, and an entry is
// used without a network call until half its lifetime has passed.
func ecr(dir string, n int, accessKeyID, region, secret string) error {
	if accessKeyID == "" {
		return errors.New("no -access-key-id")
	}
	sum := sha256.Sum256([]byte(accessKeyID))
	prefix := region + "-" + base64.StdEncoding.EncodeToString(sum[:]) + "-"
	type authEntry struct {
		AuthorizationToken string
		RequestedAt        time.Time
		ExpiresAt          time.Time
		ProxyEndpoint      string
		Service            string
	}
	now := time.Now().UTC()
	regs := make(map[string]authEntry, n)
	for i := range n {
		id := ecrRegistryID(i)
		regs[prefix+id] = authEntry{
			AuthorizationToken: base64.StdEncoding.EncodeToString([]byte("AWS:" + secret)),
			RequestedAt:        now,
			ExpiresAt:          now.Add(12 * time.Hour),
			ProxyEndpoint:      "https://" + id + ".dkr.ecr." + region + ".amazonaws.com",
			Service:            "ecr",
		}
	}
	data, err := json.MarshalIndent(map[string]any{"Registries": regs, "Version": "1.0"}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "cache.json"), data)
}

// gcr writes docker-credential-gcr's credential store (v2.2.1, store/store.go)
// with an access token valid for an hour, which it returns without a
// network call.
func gcr(file, secret string) error {
	expiry := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	data, err := json.Marshal(map[string]any{"gcrCreds": map[string]string{
		"access_token":  secret,
		"refresh_token": "1//bench-refresh-token",
		"token_expiry":  expiry,
	}})
	if err != nil {
		return err
	}
	return writeFile(file, data)
}

// tokenServer serves an OAuth2 token endpoint on loopback (RFC 6749 section
// 6: POST grant_type=refresh_token) that hands out the secret as a one-hour
// access token, until it is killed. run.sh starts it only to prime the
// token-exchange cache with one real refresh, then stops it, so that the
// timed gets can reach no network.
func tokenServer(urlFile, secret string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		// A refresh (the token-exchange row) or an RFC 8693 exchange of a
		// subject token (the workload row).
		_ = r.ParseForm()
		grant := r.PostForm
		ok := grant.Get("grant_type") == "refresh_token" ||
			(grant.Get("grant_type") == "urn:ietf:params:oauth:grant-type:token-exchange" && grant.Get("subject_token") != "")
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"unsupported_grant_type"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": secret, "token_type": "Bearer", "expires_in": 3600,
		})
	})
	if err := writeFile(urlFile, []byte("http://"+l.Addr().String()+"/token")); err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}

// writeFile writes data to path through a temporary file and a rename.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".populate-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
