package keyctl

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// testKey returns a key of its own for the test, removed at the end; it
// skips (with the reason) only where the kernel refuses keyctl.
func testKey(t *testing.T, name string) *Key {
	t.Helper()
	k := New(fmt.Sprintf("docker-credential-notation-test:%s/%s:%d:%s", t.Name(), name, os.Getpid(), rand.Text()[:8]))
	if _, err := k.Load(); errors.Is(err, ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Drop() })
	return k
}

func TestRoundTrip(t *testing.T) {
	k := testKey(t, "a")
	if got, err := k.Load(); err != nil || got != nil {
		t.Fatalf("Load before Save = %q, %v; want nil, nil", got, err)
	}
	if ok, err := k.Drop(); err != nil || ok {
		t.Fatalf("Drop before Save = %v, %v; want false, nil", ok, err)
	}
	big := bytes.Repeat([]byte{0, 1, 2, 0xff}, maxPayload/4)
	for _, payload := range [][]byte{[]byte("first"), []byte("second, replacing it"), big} {
		if err := k.Save(payload, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, err := k.Load()
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("Load = %d bytes, %v; want the %d bytes saved", len(got), err, len(payload))
		}
	}
	if ok, err := k.Drop(); err != nil || !ok {
		t.Fatalf("Drop = %v, %v; want true, nil", ok, err)
	}
	if got, err := k.Load(); err != nil || got != nil {
		t.Fatalf("Load after Drop = %q, %v; want nil, nil", got, err)
	}
}

func TestNamesApart(t *testing.T) {
	a, b := testKey(t, "a"), testKey(t, "b")
	if err := a.Save([]byte("for a"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Load(); err != nil || got != nil {
		t.Fatalf("b.Load = %q, %v; want nothing: a's key must not answer for b", got, err)
	}
	if err := b.Save([]byte("for b"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Drop(); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Load(); err != nil || string(got) != "for a" {
		t.Fatalf("a.Load after b.Drop = %q, %v", got, err)
	}
}

func TestRefused(t *testing.T) {
	k := testKey(t, "a")
	if err := k.Save(make([]byte, maxPayload+1), time.Hour); err == nil {
		t.Error("Save of a payload over the kernel's limit succeeded")
	}
	if err := k.Save([]byte("x"), 0); err == nil {
		t.Error("Save with no timeout succeeded: the key would never expire")
	}
	if got, _ := k.Load(); got != nil {
		t.Errorf("a refused Save left %q", got)
	}
}

// TestExpiry waits for the kernel to drop the key at its timeout.
func TestExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the kernel's timeout")
	}
	k := testKey(t, "a")
	if err := k.Save([]byte("short-lived"), time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := k.Load()
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the key outlived its one-second timeout by 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
