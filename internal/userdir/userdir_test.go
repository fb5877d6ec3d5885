package userdir

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestConfigDir(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the XDG rules apply to Linux and the other Unix systems")
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		err  bool
	}{
		{"XDG", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x", false},
		{"HOME", map[string]string{"HOME": "/h"}, filepath.Join("/h", ".config"), false},
		{"relative XDG ignored", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "x"}, filepath.Join("/h", ".config"), false},
		{"nothing set", map[string]string{}, "", true},
		{"only a relative XDG", map[string]string{"XDG_CONFIG_HOME": "x"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigDir(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("ConfigDir = %q, %v; want %q, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestHomeDir(t *testing.T) {
	env := map[string]string{"HOME": "/h", "USERPROFILE": `C:\Users\u`}
	want := "/h"
	if runtime.GOOS == "windows" {
		want = `C:\Users\u`
	}
	if got := HomeDir(func(k string) string { return env[k] }); got != want {
		t.Fatalf("HomeDir = %q, want %q", got, want)
	}
}

func TestCacheDir(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the XDG rules apply to Linux and the other Unix systems")
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		err  bool
	}{
		{"XDG", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/x"}, "/x", false},
		{"HOME", map[string]string{"HOME": "/h"}, filepath.Join("/h", ".cache"), false},
		{"relative XDG ignored", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "x"}, filepath.Join("/h", ".cache"), false},
		{"config variable is not the cache", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, filepath.Join("/h", ".cache"), false},
		{"nothing set", map[string]string{}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CacheDir(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("CacheDir = %q, %v; want %q, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}
