package core

import "testing"

// announceNew publishes a message at node 0 (its frames dropped) and has
// node 2 hear it announced by the nodes announcers, in order.
func announceNew(t *testing.T, tn *testNet, announcers ...int) *Message {
	t.Helper()
	m, err := tn.nodes[0].Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	for _, i := range announcers {
		if err := tn.nodes[2].Step(tn.nodes[i].ID(), EncodeFrame(&Frame{IHave: []MsgKey{m.Key()}})); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// With WantRTT the answer to a first ask samples the round trip, so
// a host whose answers take nine calls asks again after eighteen (the
// round trip and twice its deviation), not after two (FastWantRetries with
// no round trip learnt). An announcer that answers a hundred calls late
// (a hostile one, or one far behind) stretches it to maxAckRTO and no
// further.
func TestWantRTTSamplesAnswers(t *testing.T) {
	for _, c := range []struct {
		rtt      bool
		answerAt int
		want     int
	}{{false, 10, 2}, {true, 10, 18}, {true, 120, maxAckRTO}} {
		tn := newTestNet(t, 3, 1, func(i int, cf *Config) {
			cf.IWantDelay, cf.IWantDelayCalls, cf.IWantTimeout, cf.FastWantRetries = 2, 1, 50, 1
			cf.WantRTT = c.rtt
		})
		ann, b := tn.nodes[1], tn.nodes[2]
		retryAfter := func(answerAt int) int {
			m := announceNew(t, tn, 1, 0)
			b.ResendUnanswered() // the first ask, to ann
			if to := iwantsTo(t, tn, 2, m.Key()); len(to) != 1 || to[0] != 1 {
				t.Fatalf("first ask to %v, want [1]", to)
			}
			tn.queue = nil
			retry := 0
			for call := 1; call <= 150; call++ {
				if call == answerAt {
					if err := b.Step(ann.ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
						t.Fatal(err)
					}
				}
				b.ResendUnanswered()
				if to := iwantsTo(t, tn, 2, m.Key()); len(to) > 0 && retry == 0 {
					retry = call
				}
				tn.queue = nil
			}
			return retry
		}
		retryAfter(c.answerAt) // asked again after two calls; answered answerAt-1 calls after the first ask
		if got := retryAfter(150); got != c.want {
			t.Fatalf("WantRTT %v, answers after %d calls: asked again after %d calls, want %d", c.rtt, c.answerAt, got, c.want)
		}
	}
}
