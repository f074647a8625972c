//go:build js && wasm

package wasm

// Options.Persist: the tab keeps its identity and its durable-delivery
// records (p2p.WithStore) in IndexedDB under a name, so that a reload
// rejoins as the same peer, delivers nothing twice and continues its
// numbering. The store is idb_js.go; the rules are p2p's (doc.go,
// "Persistence across reloads").

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// maxPersistName bounds options.persist (it names a database and a lock).
const maxPersistName = 200

// startPersistent opens the store o.Persist names, takes the identity it
// holds (or stores o.Identity or a fresh key in it), and starts the node
// with the store; the store is closed if the start fails, else by the
// node's Close.
func startPersistent(ctx context.Context, o Options) (*Node, error) {
	if len(o.Persist) > maxPersistName {
		return nil, fmt.Errorf("options.persist is longer than %d characters", maxPersistName)
	}
	s, sk, err := openPersist(o.Persist, o.Identity)
	if err != nil {
		return nil, err
	}
	o.Identity, o.persisting = sk, true
	o.Extra = append(o.Extra[:len(o.Extra):len(o.Extra)], p2p.WithStore(s), p2p.WithSeqReservation(1))
	n, err := Start(ctx, o)
	if err != nil {
		s.Close()
		return nil, err
	}
	return n, nil
}

// openPersist locks the name (one tab at a time), opens its database and
// returns it with the identity to use: the stored one; else given, or a
// fresh key, stored before the peer starts.
func openPersist(name string, given crypto.PrivKey) (*idbStore, crypto.PrivKey, error) {
	unlock, err := lockName("grapevine/" + name)
	if err != nil {
		return nil, nil, err
	}
	s, err := openIDB(name)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	s.unlock = unlock
	raw, err := s.identity()
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	if raw != nil {
		sk, err := crypto.UnmarshalPrivateKey(raw)
		if err != nil || sk.Type() != crypto.Ed25519 {
			s.Close()
			return nil, nil, fmt.Errorf("the identity stored under options.persist %q is damaged (delete the IndexedDB database grapevine/%s to start afresh)", name, name)
		}
		if given != nil && !given.Equals(sk) {
			s.Close()
			return nil, nil, fmt.Errorf("options.identity is not the identity stored under options.persist %q (each persist name keeps one peer's identity; use another name)", name)
		}
		return s, sk, nil
	}
	sk := given
	if sk == nil {
		if sk, err = p2p.GenerateKey(); err != nil {
			s.Close()
			return nil, nil, fmt.Errorf("cannot create an identity: %v", err)
		}
	}
	if raw, err = crypto.MarshalPrivateKey(sk); err == nil {
		err = s.setIdentity(raw)
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("storing the identity: %v", err)
	}
	return s, sk, nil
}

// lockName takes the Web Lock name for as long as the node runs, so that
// two tabs of one origin never use one store at once (the browser releases
// it when the tab goes away). Without the Web Locks API (an insecure
// page) there is no lock and the caller must not open a name twice.
func lockName(name string) (unlock func(), err error) {
	defer catchJS(&err)
	locks := js.Global().Get("navigator").Get("locks")
	if locks.IsUndefined() || locks.IsNull() {
		return func() {}, nil
	}
	type result struct {
		release js.Value // resolves the promise that holds the lock
		err     error
	}
	ch := make(chan result, 1)
	grant := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].IsNull() {
			ch <- result{err: fmt.Errorf("options.persist: %s is in use by another tab or node of this site (one at a time per name)", name)}
			return nil
		}
		var release js.Value
		exec := js.FuncOf(func(_ js.Value, a []js.Value) any { release = a[0]; return nil })
		held := js.Global().Get("Promise").New(exec) // runs exec at once
		exec.Release()
		ch <- result{release: release}
		return held
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "request failed"
		if len(args) > 0 && args[0].Type() == js.TypeObject {
			msg = args[0].Get("message").String()
		}
		select {
		case ch <- result{err: errors.New("options.persist: taking the lock: " + msg)}:
		default:
		}
		return nil
	})
	locks.Call("request", name, map[string]any{"ifAvailable": true}, grant).Call("catch", fail)
	r := <-ch
	grant.Release()
	if r.err != nil {
		fail.Release()
		return nil, r.err
	}
	return func() {
		r.release.Invoke()
		fail.Release()
	}, nil
}

// persistStats is stats().persist: what options.persist restored and wrote.
func persistStats(d p2p.DurableStats) map[string]any {
	return map[string]any{
		"restoredOrigins": d.RestoredOrigins, "restoredMessages": d.RestoredMessages,
		"commits": float64(d.Commits), "commitErrors": float64(d.CommitErrors), "stored": d.Stored,
	}
}
