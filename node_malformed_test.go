package grapevine

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestNodeReportsMalformedFrames: a frame that does not decode (here an
// IHAVE of more keys than Limits.MaxKeys, one byte each) is reported to
// the gossip Penalizer as OffenceMalformed of its sender, once per frame:
// the Node decodes frames for every layer, so the engine never sees it.
func TestNodeReportsMalformedFrames(t *testing.T) {
	got := map[core.NodeID][]core.Offence{}
	net := buildNodes(t, 1, 1, nil, func(c *Config) {
		c.Gossip.Penalizer = core.PenalizerFunc(func(from core.NodeID, o core.Offence) { got[from] = append(got[from], o) })
	})
	nd := net.nodes[net.order[0]]
	keys := make([]core.MsgKey, core.DefaultLimits().MaxKeys+1)
	for i := range keys {
		keys[i] = core.MsgKey{Origin: "x", Seq: uint64(i + 1)}
	}
	bomb := core.AppendKeysRecord(core.NewFrame(nil), core.RecIHave, keys)
	for i := 0; i < 3; i++ {
		if err := nd.Step("mallory", bomb); err == nil {
			t.Fatal("IHAVE over MaxKeys decoded")
		}
	}
	if err := nd.Step("bob", []byte{9, 9}); err == nil {
		t.Fatal("bad version accepted")
	}
	if len(got["mallory"]) != 3 || got["mallory"][0] != core.OffenceMalformed || len(got["bob"]) != 1 {
		t.Fatalf("offences %v", got)
	}
}
