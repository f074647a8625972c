package membership

import (
	"fmt"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestVerdictPullTail: a fifth of a ring overlay crashes at once, over
// links that lose a tenth of the frames (the updates go once to each
// destination, as over p2p's streams, which also drop frames when a
// stream fails). Some survivors then hold a victim on one declarer's
// verdict, or on a full-state exchange's unsigned word, and without
// AskVerdicts wait out Lifeguard's longest timeout; with it they ask a
// neighbour, and the longest tail over ten seeds after 95 % of the
// survivor–victim pairs hold their victim dead is at most half as long.
// (Which seeds have such a straggler moves with any change to the random
// draws; the longest tail over ten is what waiting out the timeout
// makes.) No live member is declared dead either way.
func TestVerdictPullTail(t *testing.T) {
	const n = 120
	victims := waveVictims(n)
	runOne := func(seed uint64, ask bool) (wave, uint64) {
		c, _ := localCluster(t, n, seed, true, func(i int, cfg *Config) {
			cfg.AskVerdicts = ask
			cfg.ReliableLinks = true
		})
		c.loss = 0.1
		w := c.crashWave(t, victims, fmt.Sprintf("ask=%v", ask))
		var asked uint64
		for _, m := range c.nodes {
			asked += m.Stats().VerdictsAsked
		}
		return w, asked
	}
	var pushTail, askTail int // the longest over the seeds
	var asks uint64
	for seed := uint64(1); seed <= 10; seed++ {
		push, pushAsked := runOne(seed, false)
		ask, asked := runOne(seed, true)
		t.Logf("seed %d: push only %+v; asking %+v, %d verdicts asked", seed, push, ask, asked)
		if pushAsked != 0 {
			t.Fatalf("seed %d: %d verdicts asked without AskVerdicts", seed, pushAsked)
		}
		asks += asked
		pushTail = max(pushTail, push.ticks-push.ticks95)
		askTail = max(askTail, ask.ticks-ask.ticks95)
	}
	if asks == 0 {
		t.Fatal("no verdict asked on any seed")
	}
	t.Logf("longest tails over the seeds: %d ticks pushing only, %d asking", pushTail, askTail)
	if askTail*2 > pushTail {
		t.Errorf("longest tails over the seeds: %d ticks asking, %d pushing only; want at most half", askTail, pushTail)
	}
}

// TestVerdictWantAnswers: a member answers an ask with its own signed
// verdicts on the members it holds dead, and nothing on those it holds
// alive; it refuses a stranger's ask, and answers at most
// CorrectionsPerTick asks a tick.
func TestVerdictWantAnswers(t *testing.T) {
	const n = 10
	c, _ := localCluster(t, n, 2, true, nil)
	m := c.nodes[1]
	victim := m.members.get(m.all, nodeID(5))
	m.entomb(victim, StateDead, victim.incarnation)
	var sent []packet
	c.nodes[1].cfg.Transport = captureTransport(func(to core.NodeID, frame []byte) {
		sent = append(sent, packet{to: c.byID[to], frame: frame})
	})
	want := []verdictEntry{{nodeID(5), 0}, {nodeID(6), 0}}
	m.onVerdictWant(nodeID(2), want)
	if len(sent) != 1 || sent[0].to != 2 {
		t.Fatalf("answers sent: %d, want 1 to member 2", len(sent))
	}
	f, err := core.DecodeFrame(sent[0].frame, core.DefaultLimits())
	if err != nil || len(f.Records) != 1 || f.Records[0].Type != RecVerdicts {
		t.Fatalf("answer %+v, %v: want one verdicts record", f, err)
	}
	lim := DefaultLimits()
	b, err := decodeVerdicts(f.Records[0].Body, &lim, nil, nil)
	if err != nil || b.from != nodeID(1) || len(b.entries) != 1 || b.entries[0].id != nodeID(5) {
		t.Fatalf("answered %+v, %v: want member 1's verdict on member 5 alone", b, err)
	}
	if string(b.sig) != string(testSig(nodeID(1), b.signingBytes())) {
		t.Error("the answer is not signed by its declarer")
	}
	sent = nil
	m.onVerdictWant("stranger", want)
	if len(sent) != 0 || m.Stats().VerdictWantsRefused != 1 {
		t.Errorf("a stranger's ask: %d answers, %d refused", len(sent), m.Stats().VerdictWantsRefused)
	}
	for range m.cfg.CorrectionsPerTick + 3 {
		m.onVerdictWant(nodeID(3), want)
	}
	if len(sent) != m.cfg.CorrectionsPerTick-1 || m.Stats().VerdictWantsLimited != 4 {
		t.Errorf("asks in one tick: %d answered, %d limited; want %d and 4", len(sent), m.Stats().VerdictWantsLimited, m.cfg.CorrectionsPerTick-1)
	}
	body := recordBody(appendVerdictWant(nil, want))
	got, err := decodeVerdictWant(body, &lim)
	if err != nil || len(got) != 2 || got[1] != want[1] {
		t.Errorf("a want decoded to %+v, %v", got, err)
	}
	if _, err := decodeVerdictWant(recordBody(appendVerdictWant(nil, nil)), &lim); err == nil {
		t.Error("decoded an empty want")
	}
}

// captureTransport hands every frame sent to a function.
type captureTransport func(to core.NodeID, frame []byte)

func (f captureTransport) Send(to core.NodeID, frame []byte) { f(to, frame) }
