//go:build js && wasm

package wasm

// The tab's IndexedDB store: a p2p.Store (the records of durable delivery,
// encoded and checked by package p2p) in one IndexedDB database per
// persist name, plus the tab's identity key. IndexedDB is asynchronous;
// every method here blocks its goroutine until the request's or
// transaction's event fires (the Go runtime returns to the browser's event
// loop while it waits), so it must not run on a js.FuncOf callback.

import (
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/grapevine-p2p/grapevine/p2p"
)

const (
	idbVersion  = 1     // the object stores' layout
	idbTabSpace = "tab" // object store of the tab's own records (its identity)
	idbIdentity = "identity"
)

// idbStore is one open IndexedDB database.
type idbStore struct {
	name      string
	db        js.Value // IDBDatabase
	unlock    func()   // releases the Web Lock on the name
	page      *pageLife
	closeOnce sync.Once
}

// idbEvent is the first of the awaited events that fired on a target.
type idbEvent struct {
	name string
	ev   js.Value
}

// await sets handlers for the events names on target (an IDBRequest or
// IDBTransaction) and blocks until one of them fires.
func await(target js.Value, names ...string) idbEvent {
	r, _ := awaitOr(target, nil, names...)
	return r
}

// awaitOr is await that gives up (ok false) when stop is closed first.
func awaitOr(target js.Value, stop <-chan struct{}, names ...string) (r idbEvent, ok bool) {
	ch := make(chan idbEvent, 1)
	fns := make([]js.Func, len(names))
	for i, n := range names {
		fns[i] = js.FuncOf(func(_ js.Value, args []js.Value) any {
			ev := js.Undefined()
			if len(args) > 0 {
				ev = args[0]
			}
			select {
			case ch <- idbEvent{n, ev}:
			default:
			}
			return nil
		})
		target.Set("on"+n, fns[i])
	}
	select {
	case r = <-ch:
		ok = true
	case <-stop:
	}
	for i, n := range names {
		target.Set("on"+n, js.Null())
		fns[i].Release()
	}
	return r, ok
}

// domError describes target.error (a DOMException), if any.
func domError(target js.Value, what string) error {
	e := target.Get("error")
	if e.IsUndefined() || e.IsNull() {
		return fmt.Errorf("IndexedDB: %s failed", what)
	}
	return fmt.Errorf("IndexedDB: %s: %s: %s", what, e.Get("name").String(), e.Get("message").String())
}

// catchJS turns a JavaScript exception thrown by a syscall/js call (a
// DataError, an InvalidStateError after the tab closed the database) into
// an error.
func catchJS(err *error) {
	if r := recover(); r != nil {
		if je, ok := r.(js.Error); ok {
			*err = fmt.Errorf("IndexedDB: %s", je.Error())
			return
		}
		panic(r)
	}
}

// openIDB opens (creating on first use) the database "grapevine/"+name.
func openIDB(name string) (s *idbStore, err error) {
	defer catchJS(&err)
	factory := js.Global().Get("indexedDB")
	if factory.IsUndefined() || factory.IsNull() {
		return nil, errors.New("this browser has no IndexedDB (a private window may disable it): options.persist cannot be used")
	}
	req := factory.Call("open", "grapevine/"+name, idbVersion)
	upgrade := js.FuncOf(func(js.Value, []js.Value) any {
		// Runs inside the versionchange transaction, synchronously.
		db := req.Get("result")
		for _, sp := range idbSpaces() {
			if !db.Get("objectStoreNames").Call("contains", sp).Bool() {
				db.Call("createObjectStore", sp)
			}
		}
		return nil
	})
	defer upgrade.Release()
	req.Set("onupgradeneeded", upgrade)
	if r := await(req, "success", "error"); r.name != "success" {
		return nil, domError(req, "opening "+name)
	}
	return &idbStore{name: name, db: req.Get("result"), unlock: func() {}, page: newPageLife()}, nil
}

// idbSpaces are the object stores: p2p's key spaces and the tab's own.
func idbSpaces() []string {
	out := []string{idbTabSpace}
	for _, sp := range p2p.StoreSpaces {
		out = append(out, string(sp))
	}
	return out
}

func jsArray(ss []string) js.Value {
	a := js.Global().Get("Array").New(len(ss))
	for i, s := range ss {
		a.SetIndex(i, s)
	}
	return a
}

// u8 copies b into a new Uint8Array.
func u8(b []byte) js.Value {
	v := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(v, b)
	return v
}

// goBytes copies a Uint8Array or ArrayBuffer out of JavaScript; anything
// else (a record another program wrote) is nil, which p2p's checks drop.
func goBytes(v js.Value) []byte {
	if v.Type() != js.TypeObject {
		return nil
	}
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		return nil
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// Load reads every record of p2p's spaces in one read-only transaction.
func (s *idbStore) Load() (recs []p2p.StoreRecord, err error) {
	defer catchJS(&err)
	names := make([]string, len(p2p.StoreSpaces))
	for i, sp := range p2p.StoreSpaces {
		names[i] = string(sp)
	}
	tx := s.db.Call("transaction", jsArray(names), "readonly")
	keys := make([]js.Value, len(names))
	vals := make([]js.Value, len(names))
	for i, n := range names {
		st := tx.Call("objectStore", n)
		keys[i], vals[i] = st.Call("getAllKeys"), st.Call("getAll")
	}
	if r := await(tx, "complete", "error", "abort"); r.name != "complete" {
		return nil, domError(tx, "reading "+s.name)
	}
	for i, sp := range p2p.StoreSpaces {
		ks, vs := keys[i].Get("result"), vals[i].Get("result")
		if ks.Length() != vs.Length() {
			return nil, fmt.Errorf("IndexedDB: %s: %d keys but %d values", sp, ks.Length(), vs.Length())
		}
		for j := 0; j < ks.Length(); j++ {
			recs = append(recs, p2p.StoreRecord{Space: sp, Key: goBytes(ks.Index(j)), Value: goBytes(vs.Index(j))})
		}
	}
	return recs, nil
}

// Commit applies ops in one read-write transaction with strict durability
// (the browser flushes it to disk before "complete" fires) and returns
// when it completed. All requests are placed before this goroutine
// blocks, so the transaction cannot commit part of them early. At
// pagehide it returns errPageHidden (pagehide_js.go).
func (s *idbStore) Commit(ops []p2p.StoreOp) (err error) {
	return s.write(func(store func(string) js.Value) {
		for _, op := range ops {
			if op.Value == nil {
				store(string(op.Space)).Call("delete", u8(op.Key))
			} else {
				store(string(op.Space)).Call("put", u8(op.Value), u8(op.Key))
			}
		}
	})
}

// write runs f in a strict read-write transaction over every object store
// and waits for it to complete; a JavaScript exception in f aborts it.
func (s *idbStore) write(f func(store func(string) js.Value)) (err error) {
	defer catchJS(&err)
	hidden := s.page.waitShown()
	tx := s.db.Call("transaction", jsArray(idbSpaces()), "readwrite", map[string]any{"durability": "strict"})
	stores := map[string]js.Value{}
	store := func(n string) js.Value {
		st, ok := stores[n]
		if !ok {
			st = tx.Call("objectStore", n)
			stores[n] = st
		}
		return st
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				tx.Call("abort")
				panic(r)
			}
		}()
		f(store)
	}()
	if c := tx.Get("commit"); c.Type() == js.TypeFunction {
		tx.Call("commit")
	}
	r, ok := awaitOr(tx, hidden, "complete", "error", "abort")
	if !ok {
		return errPageHidden
	}
	if r.name != "complete" {
		return domError(tx, "writing "+s.name)
	}
	return nil
}

// identity returns the stored identity key (nil if none).
func (s *idbStore) identity() (raw []byte, err error) {
	defer catchJS(&err)
	tx := s.db.Call("transaction", idbTabSpace, "readonly")
	req := tx.Call("objectStore", idbTabSpace).Call("get", idbIdentity)
	if r := await(tx, "complete", "error", "abort"); r.name != "complete" {
		return nil, domError(tx, "reading the identity of "+s.name)
	}
	return goBytes(req.Get("result")), nil
}

// setIdentity stores the identity key (durably).
func (s *idbStore) setIdentity(raw []byte) error {
	return s.write(func(store func(string) js.Value) {
		store(idbTabSpace).Call("put", u8(raw), idbIdentity)
	})
}

// Close closes the database (IndexedDB lets running transactions finish)
// and releases the name's lock. Idempotent.
func (s *idbStore) Close() error {
	s.closeOnce.Do(func() {
		func() {
			defer func() { recover() }()
			s.db.Call("close")
		}()
		s.page.release()
		s.unlock()
	})
	return nil
}
