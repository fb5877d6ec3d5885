package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// Keyring is the seam between a Store and the OS keychain: go-keyring's
// three calls on one item, named by a service and a user. Get and Delete
// report a missing item with an error wrapping go-keyring's ErrNotFound, and
// Set reports an item that is too large for the keychain with one wrapping
// go-keyring's ErrSetDataTooBig.
//
// A call may block for as long as it likes (a hung D-Bus, a password prompt
// nobody answers): the Store runs each call in a goroutine and stops waiting
// at its deadline. An error that already wraps ErrUnavailable, ErrLocked or
// ErrTimeout is reported as such.
type Keyring interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// Diagnoser may be implemented by a Keyring to explain a failed or timed-out
// call. Diagnose checks, without prompting the user, that the keychain is
// reachable and unlocked; it returns nil if it finds nothing wrong, or an
// error wrapping ErrUnavailable, ErrLocked or ErrTimeout, with a hint. It
// must return by ctx's deadline.
type Diagnoser interface {
	Diagnose(ctx context.Context) error
}

// The causes a Store's errors may wrap, for callers that choose a backend
// (test them with errors.Is). No error of a Store ever wraps more than one of
// them, and none of them wraps helper.ErrNotFound.
var (
	// ErrUnavailable means that there is no keychain to talk to: no D-Bus
	// session bus, no Secret Service on it, no default keyring.
	ErrUnavailable = errors.New("no keychain is available")
	// ErrLocked means that the keychain is there but locked.
	ErrLocked = errors.New("the keychain is locked")
	// ErrTimeout means that the keychain did not answer in time.
	ErrTimeout = errors.New("the keychain did not answer in time")
)

// backendHint is the way out that every hint offers.
const backendHint = "or set DOCKER_CREDENTIAL_NOTATION_BACKEND=file to use the encrypted file store instead"

// caller runs keychain calls with a deadline. A call that misses its
// deadline is abandoned, not stopped (go-keyring takes no context): its
// goroutine finishes whenever the keychain answers, or dies with the process.
// A writer waits for its abandoned calls before releasing the store lock, so
// that a late write can never land after another process's.
type caller struct {
	kr Keyring
	// items is kr, if it can search by attributes; else nil.
	items   itemKeyring
	service string
	// perCall, if positive, bounds each call on its own, within the
	// context's deadline if it has one.
	perCall time.Duration

	wg        sync.WaitGroup
	mu        sync.Mutex
	abandoned bool
}

// errCallTimeout is what call returns when ctx ends first; explain turns it
// into an error wrapping ErrTimeout.
type errCallTimeout struct{ cause error }

func (e *errCallTimeout) Error() string { return "no answer: " + e.cause.Error() }

func (c *caller) call(ctx context.Context, fn func(Keyring, string) error) error {
	if c.perCall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.perCall)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return &errCallTimeout{context.Cause(ctx)}
	}
	done := make(chan error, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		done <- fn(c.kr, c.service)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		c.mu.Lock()
		c.abandoned = true
		c.mu.Unlock()
		return &errCallTimeout{context.Cause(ctx)}
	}
}

func (c *caller) get(ctx context.Context, user string) (string, error) {
	var v string
	err := c.call(ctx, func(kr Keyring, service string) error {
		var err error
		v, err = kr.Get(service, user)
		return err
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

func (c *caller) set(ctx context.Context, user, value string) error {
	return c.call(ctx, func(kr Keyring, service string) error { return kr.Set(service, user, value) })
}

func (c *caller) del(ctx context.Context, user string) error {
	return c.call(ctx, func(kr Keyring, service string) error { return kr.Delete(service, user) })
}

// hasAbandoned reports whether a call was abandoned at its deadline.
func (c *caller) hasAbandoned() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.abandoned
}

func isNotFound(err error) bool { return errors.Is(err, gokeyring.ErrNotFound) }

// diagnoseTimeout bounds the diagnosis that explains a failed call, which
// runs after the call's own deadline may have passed.
const diagnoseTimeout = time.Second

// explain turns the error of a keychain call made to do `doing` (a verb
// phrase, "read the keychain index") into the error a user sees: the cause
// (unavailable, locked, not answering, or the keychain's own message) and a
// hint. It must not be called with a not-found error.
func (s *Store) explain(ctx context.Context, doing string, err error) error {
	var timeout *errCallTimeout
	timedOut := errors.As(err, &timeout)
	if timedOut && !errors.Is(timeout.cause, context.DeadlineExceeded) {
		// Cancelled (an interrupt), not a keychain problem.
		return fmt.Errorf("failed to %s: %v", doing, timeout.cause)
	}
	for _, known := range []error{ErrUnavailable, ErrLocked, ErrTimeout} {
		if errors.Is(err, known) {
			return fmt.Errorf("failed to %s: %w", doing, err)
		}
	}
	if errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return helper.WithHint(fmt.Errorf("failed to %s: the %s refused an item as too large: %v", doing, s.describeKeychain(), err),
			"this is a bug in docker-credential-notation's item size limit for this platform: please report it, "+backendHint)
	}
	diag := s.diagnose(ctx)
	switch {
	case timedOut && diag != nil && !errors.Is(diag, ErrTimeout):
		return fmt.Errorf("failed to %s: %w (and no answer in time)", doing, diag)
	case timedOut && diag != nil:
		return fmt.Errorf("failed to %s: %w", doing, diag)
	case timedOut:
		return helper.WithHint(fmt.Errorf("failed to %s: %w", doing, ErrTimeout), timeoutHint+", "+backendHint)
	case diag != nil && strings.Contains(diag.Error(), err.Error()):
		// The diagnosis hit the same failure (a dial error, say): say it
		// once. (Text decides only the wording here, never the outcome.)
		return fmt.Errorf("failed to %s: %w", doing, diag)
	case diag != nil:
		return fmt.Errorf("failed to %s: %w (%v)", doing, diag, err)
	}
	return helper.WithHint(fmt.Errorf("failed to %s: the %s failed: %v", doing, s.describeKeychain(), err),
		failureHint+", "+backendHint)
}

// diagnose asks the Keyring, if it can tell, what is wrong, within
// diagnoseTimeout even when ctx has already expired.
func (s *Store) diagnose(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), diagnoseTimeout)
	defer cancel()
	return s.runDiagnose(ctx)
}
