package keyring

import (
	"context"
	"errors"
	"testing"
)

func TestSecret(t *testing.T) {
	f := newFake("linux")
	s, err := New(Options{Dir: t.TempDir(), Keyring: f})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	x := s.Secret("identity:/some/store")
	if got, err := x.Load(ctx); err != nil || got != nil {
		t.Fatalf("Load of a missing item = %q, %v; want nil, nil", got, err)
	}
	if err := x.Delete(ctx); err != nil {
		t.Errorf("Delete of a missing item = %v", err)
	}
	if err := x.Save(ctx, nil); err == nil {
		t.Error("Save of an empty secret succeeded")
	}
	if err := x.Save(ctx, []byte("AGE-SECRET-KEY-PQ-1X\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := x.Load(ctx); err != nil || string(got) != "AGE-SECRET-KEY-PQ-1X\n" {
		t.Fatalf("Load = %q, %v", got, err)
	}
	// Apart from the credential layout: the Store lists nothing.
	if m, err := s.List(ctx); err != nil || len(m) != 0 {
		t.Errorf("List = %v, %v; want empty", m, err)
	}
	if ids := f.ids(map[string]string{"service": SecretService}); len(ids) != 1 {
		t.Errorf("%d items of %s, want 1", len(ids), SecretService)
	}
	if err := x.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Load(ctx); got != nil {
		t.Errorf("Load after Delete = %q", got)
	}

	f.diag = ErrUnavailable
	f.before = func(string, string) error { return errors.New("no bus") }
	if _, err := x.Load(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Load without a keychain = %v, want ErrUnavailable", err)
	}
}
