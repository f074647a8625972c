package core_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/grapevine-p2p/grapevine/core"
)

// mailbox is a toy in-memory network: frames queue up and are handed to
// their engines in order.
type mailbox struct {
	engines map[core.NodeID]*core.Engine
	queue   []envelope
}

type envelope struct {
	from, to core.NodeID
	frame    []byte
}

type sender struct {
	box  *mailbox
	from core.NodeID
}

func (s sender) Send(to core.NodeID, frame []byte) {
	s.box.queue = append(s.box.queue, envelope{s.from, to, frame})
}

type printer struct{ id core.NodeID }

func (p printer) Deliver(m *core.Message) {
	fmt.Printf("%s got %q from %s\n", p.id, m.Payload, m.Origin)
}

func (b *mailbox) settle() {
	for len(b.queue) > 0 {
		q := b.queue
		b.queue = nil
		for _, env := range q {
			if err := b.engines[env.to].Step(env.from, env.frame); err != nil {
				fmt.Println("bad frame:", err)
			}
		}
	}
}

// Three engines on an in-memory network: one publishes, the others deliver.
func Example() {
	ids := []core.NodeID{"ann", "ben", "cat"}
	box := &mailbox{engines: map[core.NodeID]*core.Engine{}}
	for i, id := range ids {
		var peers []core.NodeID
		for _, p := range ids {
			if p != id {
				peers = append(peers, p)
			}
		}
		rng := rand.New(rand.NewPCG(1, uint64(i)))
		cfg := core.DefaultConfig()
		cfg.ID = id
		cfg.Rand = rng
		cfg.Sampler = &core.StaticSampler{Peers: peers, Rand: rng}
		cfg.Transport = sender{box, id}
		if id != "ann" {
			cfg.App = printer{id}
		}
		e, err := core.New(cfg)
		if err != nil {
			panic(err)
		}
		box.engines[id] = e
	}
	if _, err := box.engines["ann"].Publish("news", []byte("hello")); err != nil {
		panic(err)
	}
	box.settle()
	for range 3 { // a few rounds: nothing is delivered twice
		for _, id := range ids {
			box.engines[id].Tick()
		}
		box.settle()
	}
	// Unordered output:
	// ben got "hello" from ann
	// cat got "hello" from ann
}

// Decoding never panics: malformed bytes give an error.
func ExampleDecodeFrame() {
	frame := core.EncodeFrame(&core.Frame{Messages: []*core.Message{{Origin: "ann", Seq: 1, Topic: "t", Payload: []byte("x")}}})
	f, err := core.DecodeFrame(frame, core.DefaultLimits())
	fmt.Println(len(f.Messages), err)
	_, err = core.DecodeFrame(frame[:len(frame)-1], core.DefaultLimits())
	fmt.Println(err)
	// Output:
	// 1 <nil>
	// decoding frame: grapevine/wire: truncated input in record
}
