//go:build js && wasm

package wasm

import (
	"runtime"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// transportStats are the counters of the tab's bounds under pressure
// (node.stats().transport): what the inbound path refused or delayed
// (p2p.InboundStats), frames that did not decode, the signalling exchanges
// refused, the resource manager's refusals and reservation, and the Go heap and goroutines of the tab.
func (j *jsNode) transportStats(st p2p.Stats) map[string]any {
	sig := j.n.SignalStats()
	rs := j.n.ResourceStats()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	in := st.Inbound
	return map[string]any{
		"inTooLarge": float64(in.TooLarge), "inDuplicate": float64(in.Duplicate), "inIdle": float64(in.Idle),
		"inSlowFrame": float64(in.SlowFrame), "inNoMemory": float64(in.NoMemory), "inThrottled": float64(in.Throttled),
		"inPenalized": float64(in.Penalized), "inDropped": float64(st.InDropped),
		"decodeErrors": float64(st.DecodeErrors), "invalid": float64(st.Invalid),
		"signalAnswered": float64(sig.Answered), "signalRefused": float64(sig.Refused), "signalBusy": float64(sig.Busy),
		"signalFailed": float64(sig.Failed), "rtcDropped": float64(sig.Dropped), "relays": float64(sig.Relays),
		"rcmgrConns": float64(rs.Conns), "rcmgrStreams": float64(rs.Streams), "rcmgrMemory": float64(rs.Memory),
		"rcmgrReserved": float64(rs.Reserved),
		"heapAlloc":     float64(ms.HeapAlloc), "heapSys": float64(ms.HeapSys), "goroutines": float64(runtime.NumGoroutine()),
	}
}
