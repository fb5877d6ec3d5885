// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
	"github.com/notaryproject/docker-credential-notation/internal/testutil/registryfixture"
)

// helperName is the program clients run; config files name it "notation".
const (
	helperName   = "docker-credential-notation"
	helperSuffix = "notation"
)

// peerCommands are the programs the suite runs. scripts/install-peers.sh
// installs them all.
var peerCommands = []string{"registry", "token-server", "htpasswd", "docker", "notation", "oras", "crane", "regctl", "skopeo", "podman", "buildah", "helm", "cosign"}

// Set up by TestMain.
var (
	// skipReason is why the suite does not run, empty when it does.
	skipReason string
	peers      *peerSet
	fx         *fixture
	// helperBin is the helper built from this checkout; shimDir holds the
	// logging wrapper that clients find on PATH under the helper's name.
	helperBin string
	shimDir   string
	results   *ResultWriter
	// keychain names the Secret Service of the keychain rows, e.g.
	// "gnome-keyring 42.1-1+b2"; empty when the rows cannot run.
	keychain string
	// summary collects every row's result for the closing report.
	summary = &resultLog{}
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if runtime.GOOS != "linux" {
		skipReason = "the end-to-end suite runs on Linux only (its peers are Linux builds)"
		return m.Run()
	}
	var missing []string
	peers, missing = findPeers()
	if len(missing) > 0 {
		skipReason = fmt.Sprintf("peers not installed: %s; run scripts/install-peers.sh (or set E2E_PEERS_BIN to the directory it prints)", strings.Join(missing, ", "))
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e: error: "+skipReason+" (CI is set, so this is a failure)")
			return 1
		}
		return m.Run()
	}

	findSecretServiceTools(peers)
	if keychainSkipReason != "" {
		fmt.Fprintln(os.Stderr, "e2e: "+keychainSkipReason)
	} else {
		keychain = keychainDescription(peers)
	}

	// Ask each client for its version now: rows run in parallel and read
	// the map.
	for _, c := range []string{"docker", "notation", "oras", "crane", "regctl", "skopeo", "podman", "buildah", "helm", "cosign", "registry", "token-server"} {
		peers.version(c)
	}

	setRowParallelism()

	// Ctrl-C or a SIGTERM must not leave servers behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir, err := os.MkdirTemp("", "dcn-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	keep := os.Getenv("E2E_KEEP") != ""
	defer func() {
		if keep {
			fmt.Fprintln(os.Stderr, "e2e: kept", dir)
			return
		}
		os.RemoveAll(dir)
	}()

	if err := buildHelper(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	start := time.Now()
	fx, err = startFixture(ctx, filepath.Join(dir, "servers"), peers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: failed to start the servers:", err)
		return 1
	}
	defer fx.close()
	go func() {
		sig := <-sigs
		// Interrupted: stop the servers and leave. Running clients die with
		// this process (Pdeathsig).
		cancel()
		fmt.Fprintf(os.Stderr, "e2e: %v, stopping the servers\n", sig)
		fx.close()
		if !keep {
			os.RemoveAll(dir)
		}
		os.Exit(1)
	}()
	fmt.Fprintf(os.Stderr, "e2e: servers up in %s: basic registry https://%s, token registry https://%s (peers from %s)\n",
		time.Since(start).Round(time.Millisecond), fx.basic.Host, fx.token.Host, peers.describe())

	results = NewResultWriter(os.Getenv("E2E_RESULTS"))
	code := m.Run()
	summary.print(os.Stdout)
	return code
}

// setRowParallelism runs more rows at once than go test's default of
// GOMAXPROCS: a row spends most of its time waiting for its clients'
// processes, the registries and the keyring daemon, not computing. An
// explicit -parallel wins.
func setRowParallelism() {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if explicit {
		return
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	if err := flag.Set("test.parallel", strconv.Itoa(n)); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: failed to set -parallel:", err)
	}
}

// peerSet is where each peer was found, and its version.
type peerSet struct {
	paths    map[string]string
	versions map[string]string
	// dirs are the directories to put on a row's PATH, in order.
	dirs []string
}

func (p *peerSet) path(name string) string { return p.paths[name] }

func (p *peerSet) describe() string { return strings.Join(p.dirs, ", ") }

// findPeers looks for each peer in E2E_PEERS_BIN, then in the default
// directory of scripts/install-peers.sh, then on PATH.
func findPeers() (*peerSet, []string) {
	p := &peerSet{paths: map[string]string{}, versions: map[string]string{}}
	var dirs []string
	if d := os.Getenv("E2E_PEERS_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := defaultPeersBin(); d != "" {
		dirs = append(dirs, d)
	}
	var missing []string
	for _, name := range peerCommands {
		found := ""
		for _, d := range dirs {
			if fi, err := os.Stat(filepath.Join(d, name)); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				found = filepath.Join(d, name)
				break
			}
		}
		if found == "" {
			if lp, err := exec.LookPath(name); err == nil {
				found = lp
			}
		}
		if found == "" {
			missing = append(missing, name)
			continue
		}
		p.paths[name] = found
		if d := filepath.Dir(found); !contains(p.dirs, d) {
			p.dirs = append(p.dirs, d)
		}
	}
	for _, d := range p.dirs {
		readVersions(filepath.Join(d, "VERSIONS"), p.versions)
	}
	return p, missing
}

// defaultPeersBin is scripts/install-peers.sh's bin directory.
func defaultPeersBin() string {
	d, err := registryfixture.PeersDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "bin")
}

// readVersions reads install-peers.sh's "<name> <version> <source>" lines.
func readVersions(path string, into map[string]string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 {
			if _, ok := into[fields[0]]; !ok {
				into[fields[0]] = fields[1]
			}
		}
	}
}

var versionRE = regexp.MustCompile(`v?[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+-]*`)

// version is a client's version: from VERSIONS, or else from asking it.
func (p *peerSet) version(name string) string {
	if v, ok := p.versions[name]; ok {
		return strings.TrimPrefix(v, "v")
	}
	if p.path(name) == "" {
		return "unknown"
	}
	args := map[string][]string{
		"docker": {"--version"}, "skopeo": {"--version"}, "podman": {"--version"}, "buildah": {"--version"}, "gnome-keyring-daemon": {"--version"},
	}[name]
	if args == nil {
		args = []string{"version"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, p.path(name), args...).CombinedOutput()
	v := versionRE.FindString(string(out))
	if v == "" {
		v = "unknown"
	}
	p.versions[name] = v
	return strings.TrimPrefix(v, "v")
}

// buildHelper builds the helper from this checkout into dir/bin and writes
// the shim that clients run in its place: it records each call (the verb,
// and the server URL of get and erase, never a payload that may hold a
// secret) and the helper's own debug trace, which names keys and outcomes
// and never secrets, into the row's $E2E_HELPER_LOG.
func buildHelper(ctx context.Context, dir string) error {
	root, err := helperbin.ModuleRoot()
	if err != nil {
		return err
	}
	binDir := filepath.Join(dir, "bin")
	shimDir = filepath.Join(dir, "shim")
	for _, d := range []string{binDir, shimDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	helperBin = filepath.Join(binDir, helperName)
	if err := helperbin.Build(ctx, helperBin, helperVersion(root)); err != nil {
		return err
	}
	shim := `#!/bin/sh
# Written by the e2e suite: log the call, then run the helper with its debug
# trace on; both go to the row's log, never to the client.
log=${E2E_HELPER_LOG:-/dev/null}
case $1 in
get|erase)
	url=$(cat)
	printf '> %s %s\n' "$1" "$url" >>"$log"
	printf '%s' "$url" | DOCKER_CREDENTIAL_NOTATION_DEBUG=1 ` + shellQuote(helperBin) + ` "$@" 2>>"$log"
	;;
*)
	printf '> %s\n' "$*" >>"$log"
	DOCKER_CREDENTIAL_NOTATION_DEBUG=1 ` + shellQuote(helperBin) + ` "$@" 2>>"$log"
	;;
esac
rc=$?
printf '< exit %d\n' "$rc" >>"$log"
exit $rc
`
	return os.WriteFile(filepath.Join(shimDir, helperName), []byte(shim), 0o755)
}

// helperVersion is `git describe` of the checkout, or "devel".
func helperVersion(root string) string {
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "devel"
	}
	return strings.TrimSpace(string(out))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resultLog keeps every row's result for the summary TestMain prints.
type resultLog struct {
	mu   sync.Mutex
	rows []Result
}

func (l *resultLog) add(r Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rows = append(l.rows, r)
}

func (l *resultLog) print(w *os.File) {
	if len(l.rows) == 0 {
		return
	}
	rows := append([]Result(nil), l.rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if c := compareBy(clientOrder, a.Client, b.Client); c != 0 {
			return c < 0
		}
		if c := compareBy(configOrder, a.Config, b.Config); c != 0 {
			return c < 0
		}
		return compareBy(schemeOrder, a.Scheme, b.Scheme) < 0
	})
	fmt.Fprintln(w, "\ne2e: compatibility matrix")
	fmt.Fprint(w, Markdown(rows))
	s := Summary(rows)
	fmt.Fprintf(w, "e2e: %d pass, %d fail, %d n/a, %d skip\n", s[Pass], s[Fail], s[NotApplicable], s[Skip])
}
