package p2p

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the peer's Prometheus collectors. A Peer without
// WithMetrics still keeps them (unregistered) so that Stats can read them.
type metrics struct {
	framesOut     *prometheus.CounterVec // kind: gossip|membership
	bytesOut      *prometheus.CounterVec
	framesIn      *prometheus.CounterVec
	bytesIn       *prometheus.CounterVec
	queueDrops    *prometheus.CounterVec // kind
	sendErrors    *prometheus.CounterVec // kind
	delivered     prometheus.Counter
	duplicates    prometheus.Counter
	invalid       prometheus.Counter
	decodeErrs    prometheus.Counter
	subDrops      prometheus.Counter
	eventDrops    prometheus.Counter
	latency       prometheus.Histogram
	members       *prometheus.GaugeVec // state
	probeRTT      prometheus.Histogram
	engineDrops   *prometheus.GaugeVec   // reason: the engine's own bounded-drop counters
	penalties     *prometheus.CounterVec // reason: core.Offence attributed to a peer
	inbound       *prometheus.CounterVec // reason, kind: inbound bounds (InboundStats)
	writeTimeouts *prometheus.CounterVec // kind
	logSuppressed *prometheus.CounterVec // reason: log lines suppressed by the rate limit
	addrsRefused  *prometheus.CounterVec // reason: member-advertised addresses refused

	// byKind holds the four traffic counters' children for each kind,
	// resolved once: looking a child up by label on every frame was about
	// 2 % of a peer's CPU under load (bench -windowprofile, N = 50).
	byKind [2]kindCounters
	// byState and byDropReason are the gauges refreshed every second,
	// resolved once too (byState in memberStates' order, byDropReason on
	// first use): the label lookups were 1.8 % of an idle peer's CPU at
	// N = 1,000 (p2pscale -idleprofile). Only the driver touches them.
	byState      [4]prometheus.Gauge
	byDropReason map[string]prometheus.Gauge
}

// dropGauge returns engine_dropped's gauge for reason, resolving it once.
func (m *metrics) dropGauge(reason string) prometheus.Gauge {
	g, ok := m.byDropReason[reason]
	if !ok {
		g = m.engineDrops.WithLabelValues(reason)
		m.byDropReason[reason] = g
	}
	return g
}

// kindCounters are the traffic counters of one kind of stream.
type kindCounters struct {
	framesOut, bytesOut, framesIn, bytesIn prometheus.Counter
}

func newMetrics(group string) *metrics {
	cl := prometheus.Labels{"group": group}
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "grapevine", Name: name, Help: help, ConstLabels: cl}, labels)
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "grapevine", Name: name, Help: help, ConstLabels: cl})
	}
	m := &metrics{
		framesOut:  cv("frames_sent_total", "Frames written to streams, by kind (gossip or membership).", "kind"),
		bytesOut:   cv("bytes_sent_total", "Frame bytes written to streams (with length prefix), by kind.", "kind"),
		framesIn:   cv("frames_received_total", "Frames read from streams, by kind.", "kind"),
		bytesIn:    cv("bytes_received_total", "Frame bytes read from streams (with length prefix), by kind.", "kind"),
		queueDrops: cv("queue_dropped_frames_total", "Outgoing frames dropped because a peer's queue was full or its stream failed, by kind.", "kind"),
		sendErrors: cv("stream_errors_total", "Stream open or write failures, by kind.", "kind"),
		delivered:  c("delivered_total", "Messages delivered to the application (own included)."),
		duplicates: c("duplicates_total", "Message bodies received that were already seen."),
		invalid:    c("invalid_total", "Messages dropped because their origin's signature did not verify."),
		decodeErrs: c("decode_errors_total", "Frames that failed to decode."),
		subDrops:   c("subscription_dropped_total", "Deliveries dropped because a subscriber's buffer was full."),
		eventDrops: c("events_dropped_total", "Membership events dropped because the event buffer was full."),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "grapevine", Name: "delivery_latency_seconds",
			Help:        "Origin timestamp to local delivery (includes clock skew between hosts).",
			ConstLabels: cl, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "grapevine", Name: "members",
			Help: "Members known, by state.", ConstLabels: cl}, []string{"state"}),
		probeRTT: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "grapevine", Name: "probe_rtt_seconds",
			Help:        "Round-trip time of membership probes (ping to ack).",
			ConstLabels: cl, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		engineDrops: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "grapevine", Name: "engine_dropped",
			Help: "Bounded-state drops inside the gossip engine, its guard and membership, by reason (cumulative; membership_state_answers_limited: full-state requests not answered because the same member was answered within StateAnswerGap; pulls_limited: pull requests not answered because the peer's RoundTicks+1 of the round were; iwants_limited: IWANTed bodies not sent because the peer had that body 8 times; score_evicted: misbehaviour scores forgotten to make room, score_untracked: offences not scored because every tracked peer was penalized, publish_rate_untracked: messages of origins whose publish rate was not tracked).", ConstLabels: cl}, []string{"reason"}),
		inbound: cv("inbound_limited_total", "Inbound streams and frames refused or delayed by the inbound bounds, by reason "+
			"(too_large, duplicate, idle, slow_frame: streams closed; no_memory: frames skipped; throttled: frames delayed by the per-peer rate) and kind.", "reason", "kind"),
		writeTimeouts: cv("write_timeouts_total", "Outgoing batches not written within their deadline (the stream is reset, its queue dropped), by kind.", "kind"),
		addrsRefused:  cv("addrs_refused_total", "Addresses advertised by members and not dialled, by reason (too_many per member, shared by too many members, backoff after failed dials).", "reason"),
		penalties:     cv("penalties_total", "Offences attributed to peers, by reason (malformed, invalid_message, bad_signature, forged_accusation, refuted_accusation, flood); each adds its weight to the peer's decaying misbehaviour score, and a peer whose score rises above the threshold is disconnected and refused for a minute.", "reason"),
		logSuppressed: cv("log_suppressed_total", "Warning lines not logged because the same reason was logged recently, by reason.", "reason"),
	}
	for _, k := range []kind{kindGossip, kindMembership} {
		l := k.String()
		m.byKind[k] = kindCounters{m.framesOut.WithLabelValues(l), m.bytesOut.WithLabelValues(l),
			m.framesIn.WithLabelValues(l), m.bytesIn.WithLabelValues(l)}
	}
	for i, st := range memberStates {
		m.byState[i] = m.members.WithLabelValues(st)
	}
	m.byDropReason = make(map[string]prometheus.Gauge)
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.framesOut, m.bytesOut, m.framesIn, m.bytesIn, m.queueDrops, m.sendErrors,
		m.delivered, m.duplicates, m.invalid, m.decodeErrs, m.subDrops, m.eventDrops, m.latency, m.members,
		m.probeRTT, m.engineDrops, m.inbound, m.writeTimeouts, m.logSuppressed, m.addrsRefused, m.penalties}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) unregister(reg prometheus.Registerer) {
	for _, c := range m.collectors() {
		reg.Unregister(c)
	}
}
