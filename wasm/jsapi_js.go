//go:build js && wasm

package wasm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// Export installs the JavaScript entry point globalThis.__grapevine, which
// grapevine.js wraps in its documented API (see grapevine.d.ts), and then
// calls globalThis.__grapevineReady() if the loader defined it. The wasm
// program's main calls Export and then blocks forever.
func Export() {
	api := js.Global().Get("Object").New()
	api.Set("start", js.FuncOf(jsStart))
	api.Set("version", p2p.Version)
	js.Global().Set("__grapevine", api)
	if ready := js.Global().Get("__grapevineReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
}

// promise runs f on a new goroutine (a js.Func must never block) and
// returns a Promise settled with its result.
func promise(f func() (any, error)) js.Value {
	var handler js.Func
	handler = js.FuncOf(func(this js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer handler.Release()
			defer func() {
				if r := recover(); r != nil {
					reject.Invoke(jsError(fmt.Errorf("internal error: %v", r)))
				}
			}()
			v, err := f()
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(handler)
}

func jsError(err error) js.Value {
	return js.Global().Get("Error").New("Grapevine: " + err.Error())
}

func jsStrings(v js.Value) ([]string, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	if v.Type() == js.TypeString {
		return []string{v.String()}, nil
	}
	if !js.Global().Get("Array").Call("isArray", v).Bool() {
		return nil, errors.New("expected an array of strings")
	}
	out := make([]string, v.Length())
	for i := range out {
		e := v.Index(i)
		if e.Type() != js.TypeString {
			return nil, fmt.Errorf("element %d is a %s, not a string", i, e.Type())
		}
		out[i] = e.String()
	}
	return out, nil
}

func parseStartOptions(o js.Value) (Options, error) {
	var opts Options
	if o.Type() != js.TypeObject {
		return opts, errors.New("start needs an options object, like {bootstrap: ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW...'], group: 'chat'}")
	}
	var err error
	if opts.Bootstrap, err = jsStrings(o.Get("bootstrap")); err != nil {
		return opts, fmt.Errorf("options.bootstrap: %v", err)
	}
	if g := o.Get("group"); g.Type() == js.TypeString {
		opts.Group = g.String()
	} else if !g.IsUndefined() {
		return opts, errors.New("options.group must be a string")
	}
	if pr := o.Get("profile"); pr.Type() == js.TypeString {
		p, ok := p2p.ParseProfile(pr.String())
		if !ok {
			return opts, fmt.Errorf("options.profile must be 'lan', 'wan' or 'local', not %q", pr.String())
		}
		opts.Profile = p
	}
	opts.WebRTC = true
	if w := o.Get("webrtc"); w.Type() == js.TypeBoolean {
		opts.WebRTC = w.Bool()
	}
	opts.WebRTCFromNonMembers = o.Get("webrtcFromNonMembers").Truthy()
	if opts.ICEServers, err = jsStrings(o.Get("iceServers")); err != nil {
		return opts, fmt.Errorf("options.iceServers: %v", err)
	}
	if id := o.Get("identity"); id.Type() == js.TypeString {
		raw, err := base64.StdEncoding.DecodeString(id.String())
		if err != nil {
			return opts, errors.New("options.identity must be the base64 string that node.exportIdentity() returned")
		}
		sk, err := crypto.UnmarshalPrivateKey(raw)
		if err != nil || sk.Type() != crypto.Ed25519 {
			return opts, errors.New("options.identity is not an ed25519 libp2p private key (use the string node.exportIdentity() returned)")
		}
		opts.Identity = sk
	} else if !id.IsUndefined() && !id.IsNull() {
		return opts, errors.New("options.identity must be a string")
	}
	if ps := o.Get("persist"); ps.Type() == js.TypeString && ps.String() != "" {
		opts.Persist = ps.String()
	} else if !ps.IsUndefined() && !ps.IsNull() {
		return opts, errors.New("options.persist must be a non-empty string (the name the tab's state is kept under in IndexedDB)")
	}
	if t := o.Get("connectTimeoutMs"); t.Type() == js.TypeNumber {
		opts.ConnectTimeout = time.Duration(t.Float()) * time.Millisecond
	}
	if n := o.Get("onNotice"); n.Type() == js.TypeFunction {
		opts.Notice = func(s string) { n.Invoke(s) }
	}
	closed, err := parseClosedGroup(o)
	if err != nil {
		return opts, err
	}
	opts.Extra = append(opts.Extra, closed...)
	return opts, nil
}

// parseClosedGroup reads a closed group's options (p2p.WithGroupAuthority,
// p2p.WithRevocationList): authorityPublicKey, certificate and
// revocations, each the base64 of the file "peer authority" wrote.
func parseClosedGroup(o js.Value) ([]p2p.Option, error) {
	b64 := func(name string) ([]byte, error) {
		v := o.Get(name)
		if v.IsUndefined() || v.IsNull() {
			return nil, nil
		}
		if v.Type() != js.TypeString {
			return nil, fmt.Errorf("options.%s must be a base64 string", name)
		}
		b, err := base64.StdEncoding.DecodeString(v.String())
		if err != nil {
			return nil, fmt.Errorf("options.%s is not base64: %v", name, err)
		}
		return b, nil
	}
	pubb, err := b64("authorityPublicKey")
	if err != nil {
		return nil, err
	}
	cert, err := b64("certificate")
	if err != nil {
		return nil, err
	}
	rev, err := b64("revocations")
	if err != nil {
		return nil, err
	}
	if pubb == nil && cert == nil {
		return nil, nil
	}
	if pubb == nil || cert == nil {
		return nil, errors.New("options.authorityPublicKey and options.certificate go together")
	}
	pub, err := crypto.UnmarshalPublicKey(pubb)
	if err != nil {
		return nil, fmt.Errorf("options.authorityPublicKey: %v", err)
	}
	opts := []p2p.Option{p2p.WithGroupAuthority(pub, cert)}
	if rev != nil {
		opts = append(opts, p2p.WithRevocationList(rev))
	}
	return opts, nil
}

func jsStart(_ js.Value, args []js.Value) any {
	var o js.Value
	if len(args) > 0 {
		o = args[0]
	}
	opts, err := parseStartOptions(o)
	if err != nil {
		return promise(func() (any, error) { return nil, err })
	}
	return promise(func() (any, error) {
		n, err := Start(context.Background(), opts)
		if err != nil {
			return nil, err
		}
		return newJSNode(n).obj, nil
	})
}

// jsNode is the object handed to grapevine.js for one started node. Its
// synchronous methods return an Error object instead of throwing (a Go
// panic inside a js.Func would end the whole wasm program); grapevine.js
// throws it.
type jsNode struct {
	n   *Node
	obj js.Value

	mu      sync.Mutex
	members []any // cached snapshot for the synchronous members()
	subs    map[int]*p2p.Subscription
	nextSub int
	funcs   []js.Func
	closed  bool
	done    chan struct{}
}

func newJSNode(n *Node) *jsNode {
	j := &jsNode{n: n, subs: map[int]*p2p.Subscription{}, done: make(chan struct{})}
	o := js.Global().Get("Object").New()
	j.obj = o
	o.Set("id", n.ID().String())
	j.method("publish", j.publish)
	j.method("subscribe", j.subscribe)
	j.method("unsubscribe", j.unsubscribe)
	j.method("onEvent", j.onEvent)
	j.method("members", func([]js.Value) any { j.mu.Lock(); defer j.mu.Unlock(); return js.ValueOf(j.members) })
	j.method("connections", j.connections)
	j.method("stats", j.stats)
	j.method("close", j.close)
	j.method("exportIdentity", func([]js.Value) any {
		sk := j.n.Host().Peerstore().PrivKey(j.n.ID())
		raw, err := crypto.MarshalPrivateKey(sk)
		if err != nil {
			return jsError(fmt.Errorf("exportIdentity: %v", err))
		}
		return base64.StdEncoding.EncodeToString(raw)
	})
	j.refreshMembers()
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				j.refreshMembers()
			case <-j.done:
				return
			}
		}
	}()
	return j
}

func (j *jsNode) method(name string, f func(args []js.Value) any) {
	fn := js.FuncOf(func(_ js.Value, args []js.Value) any { return f(args) })
	j.funcs = append(j.funcs, fn)
	j.obj.Set(name, fn)
}

func memberJS(m p2p.Member) map[string]any {
	addrs := make([]any, len(m.Addrs))
	for i, a := range m.Addrs {
		addrs[i] = a.String()
	}
	return map[string]any{
		"id": m.ID.String(), "state": m.State, "incarnation": float64(m.Incarnation),
		"self": m.Self, "addrs": addrs,
	}
}

func (j *jsNode) refreshMembers() {
	ms := j.n.Members()
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberJS(m))
	}
	j.mu.Lock()
	j.members = out
	j.mu.Unlock()
}

// bytesArg accepts a string (UTF-8 encoded), a Uint8Array, an ArrayBuffer
// or any typed array / DataView.
func bytesArg(v js.Value) ([]byte, error) {
	switch v.Type() {
	case js.TypeString:
		return []byte(v.String()), nil
	case js.TypeObject:
		u8 := js.Global().Get("Uint8Array")
		switch {
		case v.InstanceOf(u8):
		case v.InstanceOf(js.Global().Get("ArrayBuffer")):
			v = u8.New(v)
		case js.Global().Get("ArrayBuffer").Call("isView", v).Bool():
			v = u8.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
		default:
			return nil, errors.New("data must be a string, Uint8Array or ArrayBuffer")
		}
		b := make([]byte, v.Get("byteLength").Int())
		js.CopyBytesToGo(b, v)
		return b, nil
	}
	return nil, fmt.Errorf("data must be a string, Uint8Array or ArrayBuffer, not %s", v.Type())
}

func topicArg(args []js.Value, what string) (string, error) {
	if len(args) == 0 || args[0].Type() != js.TypeString {
		return "", fmt.Errorf("%s needs a topic string as its first argument", what)
	}
	if args[0].String() == "" {
		return "", fmt.Errorf("%s: the topic must not be empty", what)
	}
	return args[0].String(), nil
}

func (j *jsNode) publish(args []js.Value) any {
	topic, err := topicArg(args, "publish")
	var data []byte
	if err == nil {
		if len(args) < 2 {
			err = errors.New("publish(topic, data) needs the data to publish")
		} else {
			data, err = bytesArg(args[1])
		}
	}
	return promise(func() (any, error) {
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		key, err := j.n.PublishKey(ctx, topic, data)
		if errors.Is(err, p2p.ErrClosed) {
			return nil, errors.New("publish: the node is closed")
		}
		if err != nil {
			return nil, fmt.Errorf("publish: %v", err)
		}
		origin, _ := p2p.PeerID(key.Origin)
		return map[string]any{"origin": origin.String(), "seq": float64(key.Seq), "key": fmt.Sprintf("%s/%d", origin, key.Seq)}, nil
	})
}

func (j *jsNode) subscribe(args []js.Value) any {
	topic, err := topicArg(args, "subscribe")
	if err != nil {
		return jsError(err)
	}
	if len(args) < 2 || args[1].Type() != js.TypeFunction {
		return jsError(errors.New("subscribe(topic, callback) needs a callback function"))
	}
	cb := args[1]
	sub, err := j.n.Subscribe(topic)
	if err != nil {
		return jsError(fmt.Errorf("subscribe: %v", err))
	}
	j.mu.Lock()
	j.nextSub++
	id := j.nextSub
	j.subs[id] = sub
	j.mu.Unlock()
	go func() {
		for m := range sub.Messages() {
			data := js.Global().Get("Uint8Array").New(len(m.Data))
			js.CopyBytesToJS(data, m.Data)
			msg := js.ValueOf(map[string]any{
				"from": m.From.String(), "seq": float64(m.Seq), "topic": m.Topic,
				"timestamp": float64(m.Timestamp.UnixNano()) / 1e6, "latencyMs": float64(m.Latency.Microseconds()) / 1e3,
				"local": m.Local, "key": fmt.Sprintf("%s/%d", m.From, m.Seq),
			})
			msg.Set("data", data)
			callSafely(cb, msg)
		}
	}()
	return id
}

// callSafely calls a user callback; an exception in it is reported on the
// console instead of crashing the Go program.
func callSafely(cb js.Value, args ...any) {
	defer func() {
		if r := recover(); r != nil {
			js.Global().Get("console").Call("error", "Grapevine: a callback threw:", fmt.Sprint(r))
		}
	}()
	cb.Invoke(args...)
}

func (j *jsNode) unsubscribe(args []js.Value) any {
	if len(args) == 0 || args[0].Type() != js.TypeNumber {
		return false
	}
	j.mu.Lock()
	sub := j.subs[args[0].Int()]
	delete(j.subs, args[0].Int())
	j.mu.Unlock()
	if sub == nil {
		return false
	}
	sub.Cancel()
	return true
}

// onEvent registers the one callback that receives membership events.
func (j *jsNode) onEvent(args []js.Value) any {
	if len(args) == 0 || args[0].Type() != js.TypeFunction {
		return jsError(errors.New("onEvent needs a function"))
	}
	cb := args[0]
	go func() {
		for ev := range j.n.Events() {
			j.refreshMembers()
			callSafely(cb, js.ValueOf(map[string]any{"kind": string(ev.Kind), "member": memberJS(ev.Member)}))
		}
	}()
	return nil
}

func (j *jsNode) connections([]js.Value) any {
	cs := j.n.Conns()
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, map[string]any{"peer": c.Peer.String(), "transport": c.Transport, "addr": c.Addr, "outbound": c.Outbound,
			"bytesIn": float64(c.BytesIn), "bytesOut": float64(c.BytesOut)})
	}
	return js.ValueOf(out)
}

func (j *jsNode) stats([]js.Value) any {
	return promise(func() (any, error) {
		st := j.n.Stats()
		return map[string]any{
			"delivered": float64(st.Delivered), "framesSent": float64(st.FramesSent), "bytesSent": float64(st.BytesSent),
			"framesIn": float64(st.FramesIn), "bytesIn": float64(st.BytesIn), "queueDropped": float64(st.QueueDropped),
			"invalid": float64(st.Invalid), "subDropped": float64(st.SubDropped),
			"published": float64(st.Engine.Published), "duplicates": float64(st.Engine.Duplicates),
			"transport": j.transportStats(st),
			"persist":   persistStats(j.n.DurableStats()),
		}, nil
	})
}

func (j *jsNode) close([]js.Value) any {
	return promise(func() (any, error) {
		j.mu.Lock()
		if j.closed {
			j.mu.Unlock()
			return nil, nil
		}
		j.closed = true
		close(j.done)
		j.mu.Unlock()
		err := j.n.Close()
		// The methods stay callable (they fail with "closed"); the funcs
		// are not released so a late call does not crash the runtime.
		return nil, err
	})
}
