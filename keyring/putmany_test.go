package keyring

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

func TestPutMany(t *testing.T) {
	for _, p := range []string{"secret-service", "darwin"} {
		t.Run(p, func(t *testing.T) {
			f, kr := fakeFor(p)
			s := newFakeStore(t, f, Options{Keyring: kr, ChunkSize: 64})
			mustPut(t, s, "old.example.com", "o", "old")
			var creds []helper.Credentials
			for i := range 20 {
				creds = append(creds, helper.Credentials{ServerURL: fmt.Sprintf("r%d.example.com", i), Username: fmt.Sprint("u", i), Secret: strings.Repeat("s", i*10)})
			}
			creds = append(creds,
				helper.Credentials{ServerURL: "old.example.com", Username: "o2", Secret: "replaced"},
				helper.Credentials{ServerURL: "r1.example.com", Username: "twice", Secret: "second"})
			f.resetCalls()
			if err := s.PutMany(context.Background(), creds); err != nil {
				t.Fatal(err)
			}
			t.Logf("calls: %v", f.resetCalls())
			want := byURL(creds)
			m := mustList(t, s)
			if !maps.Equal(m, usernames(want)) {
				t.Fatalf("List = %v, want %v", m, usernames(want))
			}
			for u, c := range want {
				if got := mustGet(t, s, u); got != c {
					t.Errorf("Get(%q) = %v, want %v", u, got, c)
				}
			}
			checkNoGarbage(t, s, f)
		})
	}
}

// TestPutManyInterrupted: a batch that fails at any call stores all of its
// new entries or none, and the next write cleans up.
func TestPutManyInterrupted(t *testing.T) {
	a := helper.Credentials{ServerURL: "a.example.com", Username: "alice", Secret: "a"}
	batch := []helper.Credentials{
		{ServerURL: "b.example.com", Username: "bob", Secret: "b"},
		{ServerURL: "c.example.com", Username: "carol", Secret: strings.Repeat("c", 200)},
	}
	vanished := errors.New("org.freedesktop.DBus.Error.ServiceUnknown")
	for n := 1; ; n++ {
		f := newItemFake()
		s := newFakeStore(t, f.fakeKeyring, Options{Keyring: f, ChunkSize: 64})
		mustPut(t, s, a.ServerURL, a.Username, a.Secret)
		calls, failed := 0, false
		f.setBefore(func(op, user string) error {
			calls++
			if calls >= n {
				failed = true
				return vanished
			}
			return nil
		})
		f.setDiag(helper.WithHint(fmt.Errorf("%w: no Secret Service", ErrUnavailable), "start one"))
		err := s.PutMany(context.Background(), batch)
		f.setBefore(nil)
		f.setDiag(nil)
		if err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d failing: %v", n, err)
		}
		m := mustList(t, s)
		before := usernames(byURL([]helper.Credentials{a}))
		after := usernames(byURL(append([]helper.Credentials{a}, batch...)))
		if !maps.Equal(m, before) && !maps.Equal(m, after) || err == nil && !maps.Equal(m, after) {
			t.Fatalf("call %d failing (error %v): List = %v", n, err, m)
		}
		for _, c := range batch {
			got, gerr := s.Get(context.Background(), key(t, c.ServerURL))
			if _, listed := m[c.ServerURL]; listed != (gerr == nil) || gerr == nil && got != c || gerr != nil && !errors.Is(gerr, helper.ErrNotFound) {
				t.Fatalf("call %d failing: Get(%q) = %v, %v with List %v", n, c.ServerURL, got, gerr, m)
			}
		}
		mustPut(t, s, "next.example.com", "u", "s")
		checkNoGarbage(t, s, f.fakeKeyring)
		if !failed {
			t.Logf("PutMany takes %d calls; a failure at each was checked", n-1)
			return
		}
	}
}
