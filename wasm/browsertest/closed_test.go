//go:build !js

package browsertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/p2p"
)

// closedMember is a peer identity with its certificate of a closed group.
type closedMember struct {
	sk   crypto.PrivKey
	id   peer.ID
	cert []byte
}

// issueMember generates an identity and has authority sign it a
// publishing certificate of group, valid for an hour.
func issueMember(t *testing.T, authority crypto.PrivKey, group string, serial uint64) closedMember {
	t.Helper()
	sk, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p2p.IssueCertificate(authority, id, group, serial, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), p2p.RolePublish)
	if err != nil {
		t.Fatal(err)
	}
	return closedMember{sk: sk, id: id, cert: c.Marshal()}
}

// startClosedNatives is startNatives for a closed group: native i runs
// with members[i]'s identity and certificate, listening on loopback
// WebSocket; they close when the test ends.
func startClosedNatives(t *testing.T, ctx context.Context, group string, authority crypto.PubKey, members []closedMember) []*native {
	var natives []*native
	t.Cleanup(func() {
		for _, n := range natives {
			n.p.Close()
		}
	})
	for i, m := range members {
		opts := []p2p.Option{p2p.WithGroup(group), p2p.WithDHT(false), p2p.WithProfile(p2p.ProfileLAN),
			p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0/ws"), p2p.WithLeaveGrace(100 * time.Millisecond),
			p2p.WithIdentity(m.sk), p2p.WithGroupAuthority(authority, m.cert)}
		if i > 0 {
			opts = append(opts, p2p.WithSeeds(site.WSAddrs(natives[0].p)...))
		}
		p, err := p2p.New(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		natives = append(natives, newNative(t, p))
	}
	return natives
}

// TestTabJoinsClosedGroup (issue #12): three native peers run a closed
// group whose authority key is generated here. One page of a headless
// Chromium starts its tab with an identity and a certificate the
// authority issued to it (the page's ?identity, ?authority and
// ?certificate options); two more pages of the same Chromium start tabs
// in the same group, one without a certificate, one with a certificate
// of another authority. The member tab is admitted (the natives list it
// alive, it lists them alive) and messages go both ways; the outsider
// tabs are never listed by any native, none of their messages is
// delivered to a native or to the member tab (checked 5 s after the
// member tab's message reached all natives), and the natives count their
// refused records.
func TestTabJoinsClosedGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	bin := chromium(t)
	wasmPath := buildWasm(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)

	const group = "browser-closed"
	authority, err := p2p.GenerateAuthority()
	if err != nil {
		t.Fatal(err)
	}
	var members []closedMember
	for i := 0; i < 3; i++ {
		members = append(members, issueMember(t, authority, group, uint64(i+1)))
	}
	natives := startClosedNatives(t, ctx, group, authority.GetPublic(), members)
	eventually(t, 30*time.Second, "the 3 natives see each other alive", func() bool {
		for _, n := range natives {
			for _, m := range members {
				if n.state(m.id.String()) != p2p.StateAlive {
					return false
				}
			}
		}
		return true
	})

	// The member tab's identity and certificate; an outsider's from
	// another authority (same group name). The third page gets none.
	tab := issueMember(t, authority, group, 10)
	foreignAuthority, err := p2p.GenerateAuthority()
	if err != nil {
		t.Fatal(err)
	}
	foreign := issueMember(t, foreignAuthority, group, 10)

	h, err := site.Handler(site.Config{WasmPath: wasmPath, Bootstrap: site.WSAddrs(natives[0].p), Group: group, Profile: "lan"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromiumFlags(t, bin, pagesInFront()...)...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", bin, err)
	}
	open := func(name, query string) *page {
		pctx, stop := chromedp.NewContext(browserCtx, logConsole(t, "page "+name))
		if err := chromedp.Do(pctx, chromedp.Navigate(srv.URL+"/"+query)); err != nil {
			t.Fatalf("page %s: %v", name, err)
		}
		return &page{name: name, ctx: pctx, stop: stop}
	}
	member := open("member", closedQuery(t, authority.GetPublic(), tab))
	outsiders := []*page{open("no-certificate", ""), open("other-authority", closedQuery(t, foreignAuthority.GetPublic(), foreign))}
	var sm pageState
	outIDs := make([]string, len(outsiders))
	eventually(t, 90*time.Second, "the 3 pages started their peer", func() bool {
		sm = member.state(t)
		ok := sm.ID != ""
		for i, o := range outsiders {
			outIDs[i] = o.state(t).ID
			ok = ok && outIDs[i] != ""
		}
		return ok
	})
	if sm.ID != tab.id.String() {
		t.Fatalf("the member page runs as %s, not as the identity its certificate names (%s)", sm.ID, tab.id)
	}
	if outIDs[1] != foreign.id.String() {
		t.Fatalf("the other authority's page runs as %s, not as %s", outIDs[1], foreign.id)
	}
	t.Logf("member tab %s, outsider tabs %v", sm.ID, outIDs)

	// Every native's view is sampled until the end: no outsider may ever
	// be listed, in any state.
	var listed atomic.Value
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for watchCtx.Err() == nil {
			for i, n := range natives {
				for k, id := range outIDs {
					if st := n.state(id); st != "" {
						listed.CompareAndSwap(nil, fmt.Sprintf("native %d lists the %s tab as %q", i, outsiders[k].name, st))
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	defer func() { stopWatch(); <-watchDone }()

	// 1. The member tab is admitted: alive in every native's view, and
	// the natives alive in its own.
	eventually(t, 30*time.Second, "the natives see the member tab alive and it sees them alive", func() bool {
		for _, n := range natives {
			if n.state(sm.ID) != p2p.StateAlive {
				return false
			}
		}
		s := member.state(t)
		for _, m := range members {
			if s.memberState(m.id.String()) != p2p.StateAlive {
				return false
			}
		}
		return true
	})

	// 2. Messages go both ways.
	if err := natives[1].p.Publish(ctx, site.ChatTopic, []byte("from native 1 to the closed group")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "native 1's message shown in the member tab", func() bool {
		return member.state(t).has("from native 1 to the closed group")
	})

	// 3. The outsiders publish first, the member tab after them; once
	// the member's message reached every native, theirs had time to as
	// well.
	const outMsgs = 5
	text := func(o *page, i int) string { return fmt.Sprintf("from the %s tab #%d", o.name, i) }
	for i := 0; i < outMsgs; i++ {
		for _, o := range outsiders {
			o.publish(t, text(o, i))
		}
	}
	member.publish(t, "from the member tab")
	eventually(t, 15*time.Second, "the member tab's message reached the 3 natives", func() bool {
		for _, n := range natives {
			if !n.has("from the member tab") {
				return false
			}
		}
		return true
	})
	time.Sleep(5 * time.Second)
	sm = member.state(t)
	for k, o := range outsiders {
		for i := 0; i < outMsgs; i++ {
			for j, n := range natives {
				if n.has(text(o, i)) {
					t.Errorf("native %d delivered %q", j, text(o, i))
				}
			}
			if sm.has(text(o, i)) {
				t.Errorf("the member tab delivered %q", text(o, i))
			}
		}
		if st := sm.memberState(outIDs[k]); st != "" {
			t.Errorf("the member tab lists the %s tab as %q", o.name, st)
		}
	}
	if v := listed.Load(); v != nil {
		t.Error(v)
	}
	var refused, notAdmitted, dropped uint64
	for i, n := range natives {
		st, ms := n.p.AuthorityStats(), n.p.Stats().Membership
		t.Logf("native %d: %+v, membership NotAdmitted %d", i, st, ms.NotAdmitted)
		refused += st.RefusedRecords
		notAdmitted += ms.NotAdmitted
		dropped += st.DroppedFrames + st.DroppedMessages
	}
	if refused == 0 || notAdmitted == 0 {
		t.Errorf("the natives did not count the outsiders' refused records: %d refused, %d not admitted", refused, notAdmitted)
	}
	// The outsiders did publish (their nodes counted the messages), and
	// were refused admission, not cut off. They learn no member from the
	// closed group (the natives believe and answer none of their
	// records), so their messages find no one to be sent to and the
	// natives' dropped frames may stay at 0.
	for k, o := range outsiders {
		ost := o.closedStats(t)
		if ost.Published < outMsgs {
			t.Errorf("the %s tab's node counted %.0f published messages, want at least %d", o.name, ost.Published, outMsgs)
		}
		conn := "?"
		if outPeer, err := peer.Decode(outIDs[k]); err == nil {
			conn = natives[0].p.Host().Network().Connectedness(outPeer).String()
		}
		t.Logf("%s tab: %+v; its view %v; native 0's connection to it: %s", o.name, ost, o.state(t).Members, conn)
	}
	t.Logf("natives' dropped frames and messages: %d", dropped)
}

// closedQuery is the page query that starts a tab as m in a closed group
// of authority.
func closedQuery(t *testing.T, authority crypto.PubKey, m closedMember) string {
	t.Helper()
	key, err := crypto.MarshalPrivateKey(m.sk)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := crypto.MarshalPublicKey(authority)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	q := url.Values{}
	q.Set("identity", b64(key))
	q.Set("authority", b64(pub))
	q.Set("certificate", b64(m.cert))
	return "?" + q.Encode()
}

// closedStats are the parts of node.stats() this test logs.
type closedStats struct {
	Published  float64 `json:"published"`
	FramesSent float64 `json:"framesSent"`
	FramesIn   float64 `json:"framesIn"`
	Delivered  float64 `json:"delivered"`
}

func (p *page) closedStats(t *testing.T) closedStats {
	t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`window.grapevineNode.stats().then((s) => JSON.stringify(s))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("page %s: stats: %v", p.name, err)
	}
	var s closedStats
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("page %s: stats %q: %v", p.name, raw, err)
	}
	return s
}
