package local

import (
	"math"
	"sort"
)

// messages fills in the messages, their deliveries and latencies, and the
// traffic counters.
func (a *analysis) messages(r *Report) {
	n, end := a.n, a.end
	msgs := map[msgKey]*msgObs{}
	lastStats := map[[2]int]Record{}
	for _, x := range a.recs {
		switch x.Kind {
		case RecPublish:
			if x.T > end {
				continue
			}
			k := msgKey{x.Origin, x.Seq}
			if msgs[k] == nil {
				m := &msgObs{key: k, at: x.T, deliv: map[int]int64{}, lats: map[int]float64{}}
				msgs[k] = m
				a.order = append(a.order, m)
			}
		case RecDeliver:
			if x.T > end {
				continue
			}
			if m := msgs[msgKey{x.Origin, x.Seq}]; m != nil {
				if _, dup := m.deliv[x.Peer]; !dup {
					m.deliv[x.Peer] = x.T
					m.lats[x.Peer] = float64(x.Lat) / 1e6
				}
			}
		case RecStats:
			lastStats[[2]int{x.Peer, x.Inst}] = x
		case RecInjected:
			r.InjectedFrames += x.Frames
			r.InjectedDropped += x.Bytes
		}
	}
	for _, s := range lastStats {
		r.FramesSent += s.Frames
		r.BytesSent += s.Bytes
		r.QueueDropped += s.Dropped
		r.QueueDroppedNoStream += s.DropNoStream
		r.QueueDroppedFailed += s.DropFailed
		r.PingsSent += s.Pings
		r.LateAcks += s.LateAcks
		r.PingReqsSent += s.PingReqs
	}
	if r.InjectedFrames > 0 {
		r.ObservedLoss = float64(r.InjectedDropped) / float64(r.InjectedFrames)
	}
	r.Published = len(a.order)
	r.DeliveryMin = 1
	sumFrac := 0.0
	allDeliv := 0
	for _, m := range a.order {
		mr := MessageReport{Origin: m.key.origin, Seq: m.key.seq, At: a.sec(m.at)}
		var lats []float64
		var last int64
		for i := 0; i < n; i++ {
			if i == m.key.origin || !a.upThrough(i, m.at, end) {
				continue
			}
			mr.Eligible++
			if t, ok := m.deliv[i]; ok {
				mr.Delivered++
				lats = append(lats, m.lats[i])
				r.latencies = append(r.latencies, m.lats[i])
				last = max(last, t)
			}
		}
		allDeliv += len(m.deliv)
		sort.Float64s(lats)
		mr.P50, mr.Max = percentile(lats, 0.5), percentile(lats, 1)
		if len(lats) == 0 {
			mr.P50, mr.Max = 0, 0
		}
		mr.Fraction = 1
		if mr.Eligible > 0 {
			mr.Fraction = float64(mr.Delivered) / float64(mr.Eligible)
		}
		if mr.Delivered == mr.Eligible {
			r.FullyDelivered++
			if mr.Eligible > 0 {
				mr.Complete = ptr(float64(last-m.at) / 1e9)
			}
		}
		r.DeliveryMin = min(r.DeliveryMin, mr.Fraction)
		sumFrac += mr.Fraction
		r.Deliveries += mr.Delivered
		r.ExpectedDeliveries += mr.Eligible
		r.Messages = append(r.Messages, mr)
	}
	if len(a.order) > 0 {
		r.DeliveryMean = sumFrac / float64(len(a.order))
	} else {
		r.DeliveryMin = math.NaN()
		r.DeliveryMean = math.NaN()
	}
	// Latency over deliveries to peers that were up from publish to the end
	// (a restarted peer's pull of old messages is not a latency).
	sort.Float64s(r.latencies)
	r.LatencyP50 = percentile(r.latencies, 0.5)
	r.LatencyP99 = percentile(r.latencies, 0.99)
	r.LatencyMax = percentile(r.latencies, 1)
	if allDeliv > 0 {
		r.FramesPerDelivery = float64(r.FramesSent) / float64(allDeliv)
		r.BytesPerDelivery = float64(r.BytesSent) / float64(allDeliv)
	}
}
