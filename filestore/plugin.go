package filestore

import (
	"errors"
	"fmt"
	"sync"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// Age plugins (age-plugin-yubikey, -tpm, -se) may talk to the user while
// they unwrap the store's file key: a message ("touch your key"), a PIN.
// Options.PluginUI answers them; when it cannot (no terminal) or the plugin
// refuses (a wrong PIN), age reports only the plugin's own words, so the
// store remembers what happened and decrypt says it plainly, never
// "tampered with".

// pluginIdentity is a plugin identity that remembers its last failure.
type pluginIdentity struct {
	*plugin.Identity
	mu  sync.Mutex
	err error
}

func (p *pluginIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	k, err := p.Identity.Unwrap(stanzas)
	if err != nil && !errors.Is(err, age.ErrIncorrectIdentity) {
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
	}
	return k, err
}

// takeErr returns and clears the last failure.
func (p *pluginIdentity) takeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.err
	p.err = nil
	return err
}

// pluginUI is Options.PluginUI (nil: nothing answers), remembering a
// request it could not answer.
func (s *Store) pluginUI() *plugin.ClientUI {
	ui := plugin.ClientUI{}
	if s.opts.PluginUI != nil {
		ui = *s.opts.PluginUI
	}
	request, confirm := ui.RequestValue, ui.Confirm
	ui.RequestValue = func(name, prompt string, secret bool) (string, error) {
		if request == nil {
			return "", s.uiFailed(fmt.Errorf("age-plugin-%s needs input and nothing can answer it", name))
		}
		v, err := request(name, prompt, secret)
		return v, s.uiFailed(err)
	}
	ui.Confirm = func(name, prompt, yes, no string) (bool, error) {
		if confirm == nil {
			return false, s.uiFailed(fmt.Errorf("age-plugin-%s needs a confirmation and nothing can answer it", name))
		}
		ok, err := confirm(name, prompt, yes, no)
		return ok, s.uiFailed(err)
	}
	return &ui
}

// uiFailed remembers err, if not nil, and returns it.
func (s *Store) uiFailed(err error) error {
	if err != nil {
		s.pluginMu.Lock()
		s.uiErr = err
		s.pluginMu.Unlock()
	}
	return err
}

// pluginFailure returns (and clears) why a plugin of k failed during the
// last decryption: the request nobody could answer, or the plugin's own
// error; nil when no plugin failed.
func (s *Store) pluginFailure(k *keys) error {
	s.pluginMu.Lock()
	uiErr := s.uiErr
	s.uiErr = nil
	s.pluginMu.Unlock()
	var perr error
	for _, id := range k.loaded() {
		if p, ok := id.(*pluginIdentity); ok {
			if err := p.takeErr(); err != nil && perr == nil {
				perr = err
			}
		}
	}
	switch {
	case uiErr != nil:
		return helper.WithHint(fmt.Errorf("failed to decrypt credential store %s: %v", s.path, uiErr),
			"run the command from a terminal, where the plugin can ask; for unattended use set the key up to need no PIN or touch (age-plugin-yubikey: --pin-policy never --touch-policy never)")
	case perr != nil:
		return helper.WithHint(fmt.Errorf("failed to decrypt credential store %s: the age plugin failed: %v", s.path, perr),
			"the store was not modified; the plugin says why (a wrong PIN, a missing token): try again")
	}
	return nil
}
