package local

// Report is what a run observed. Every number comes from the records the
// peers produced with their own clocks and counters (deliveries, membership
// events, traffic counters); the scenario is used only to name what was
// scheduled (which peer crashed, when a partition was meant to heal) and to
// tell partition-induced failure declarations from false positives.
type Report struct {
	Name        string  `json:"name"`
	Peers       int     `json:"peers"`
	Mode        string  `json:"mode"`
	Profile     string  `json:"profile"`
	Seconds     float64 `json:"seconds"` // scenario clock actually run
	Interrupted bool    `json:"interrupted,omitempty"`
	// StartupSeconds: starting every peer; JoinSeconds: from the first
	// peer's start until every peer saw every other alive (nil: never).
	StartupSeconds float64 `json:"startup_seconds"`
	// Host is the machine's state during the run: CPUs, the 1-minute load
	// average at the start and end, and the CPU seconds the peers used
	// (this process and its --procs workers).
	Host        HostInfo `json:"host"`
	JoinSeconds *float64 `json:"join_seconds"`
	// JoinAfterLast: from the last peer's start to the complete view.
	JoinAfterLast *float64 `json:"join_after_last_start_seconds"`

	Published          int     `json:"published"`
	FullyDelivered     int     `json:"fully_delivered"`
	DeliveryMean       float64 `json:"delivery_fraction_mean"`
	DeliveryMin        float64 `json:"delivery_fraction_min"`
	Deliveries         int     `json:"deliveries"`          // to eligible receivers
	ExpectedDeliveries int     `json:"expected_deliveries"` // eligible receivers summed over messages

	LatencyP50 float64 `json:"latency_p50_ms"`
	LatencyP99 float64 `json:"latency_p99_ms"`
	LatencyMax float64 `json:"latency_max_ms"`

	FramesSent   uint64 `json:"frames_sent"`
	BytesSent    uint64 `json:"bytes_sent"`
	QueueDropped uint64 `json:"queue_dropped"`
	// QueueDropped split: no stream could be opened, the stream failed
	// (the rest: a full queue).
	QueueDroppedNoStream uint64  `json:"queue_dropped_no_stream"`
	QueueDroppedFailed   uint64  `json:"queue_dropped_failed"`
	PingsSent            uint64  `json:"pings_sent"`
	LateAcks             uint64  `json:"late_acks"` // acks after the probe timeout
	PingReqsSent         uint64  `json:"ping_reqs_sent"`
	FramesPerDelivery    float64 `json:"frames_per_delivery"`
	BytesPerDelivery     float64 `json:"bytes_per_delivery"`
	InjectedFrames       uint64  `json:"injected_frames"`  // frames judged by the fault injector
	InjectedDropped      uint64  `json:"injected_dropped"` // of which dropped
	ObservedLoss         float64 `json:"observed_loss"`

	Crashes  []CrashReport   `json:"crashes"`
	Restarts []RestartReport `json:"restarts"`
	Heals    []HealReport    `json:"heals"`
	// FalsePositives: "fail" events about a live, reachable member while
	// the scenario clock ran; FalseSuspicions: "suspect" events likewise;
	// JoiningFalsePositives: "fail" events of that kind before the clock
	// started (while the group was still joining).
	FalsePositives        int          `json:"false_positives"`
	FalseSuspicions       int          `json:"false_suspicions"`
	JoiningFalsePositives int          `json:"joining_false_positives"`
	FalseList             []FalseEvent `json:"false_positive_events,omitempty"`

	Messages  []MessageReport `json:"messages"`
	Members   []MembersPoint  `json:"members_over_time"`
	Infection []Curve         `json:"infection_curves"`

	latencies []float64 // ms, sorted
}

// HostInfo describes the machine a run shared.
type HostInfo struct {
	CPUs       int     `json:"cpus"`
	LoadStart  float64 `json:"load_start"`
	LoadEnd    float64 `json:"load_end"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// CrashReport is one crash and its detection by the survivors.
type CrashReport struct {
	Peer      int     `json:"peer"`
	At        float64 `json:"at"` // scenario clock, seconds
	Survivors int     `json:"survivors"`
	Detected  int     `json:"detected"` // survivors whose membership declared it failed
	// Seconds from the crash: first survivor's "suspect", first and last
	// survivor's "fail" (Last only when every survivor detected it), and
	// the median over survivors.
	FirstSuspect *float64 `json:"first_suspect"`
	First        *float64 `json:"first_fail"`
	Median       *float64 `json:"median_fail"`
	Last         *float64 `json:"all_fail"`
}

// RestartReport is a restart and how long until every running peer saw the
// restarted peer alive again.
type RestartReport struct {
	Peer    int      `json:"peer"`
	At      float64  `json:"at"`
	AllSeen *float64 `json:"all_see_alive"`
}

// HealReport is a partition heal and the membership convergence after it.
type HealReport struct {
	Partition int      `json:"partition"`
	At        float64  `json:"at"`
	Converged *float64 `json:"converged_after"` // every running peer sees every other alive
}

// FalseEvent is a failure declaration about a member that was running and
// reachable.
type FalseEvent struct {
	Observer int     `json:"observer"`
	Subject  int     `json:"subject"`
	At       float64 `json:"at"`
	Kind     string  `json:"kind"`
}

// MessageReport is one message's delivery.
type MessageReport struct {
	Origin    int     `json:"origin"`
	Seq       uint64  `json:"seq"`
	At        float64 `json:"at"` // published, scenario clock
	Eligible  int     `json:"eligible"`
	Delivered int     `json:"delivered"`
	Fraction  float64 `json:"fraction"`
	P50       float64 `json:"latency_p50_ms"`
	Max       float64 `json:"latency_max_ms"`
	// Complete: seconds from publish to the last eligible delivery
	// (nil unless every eligible peer delivered).
	Complete *float64 `json:"complete_after"`
}

// MembersPoint samples the membership views.
type MembersPoint struct {
	T       float64 `json:"t"` // scenario clock (negative while joining)
	Running int     `json:"running"`
	Min     int     `json:"view_alive_min"`
	Mean    float64 `json:"view_alive_mean"`
	Max     int     `json:"view_alive_max"`
}

// Curve is one message's infection curve: fraction of eligible peers that
// delivered it, over seconds since publish.
type Curve struct {
	Label string    `json:"label"`
	X     []float64 `json:"x"`
	Y     []float64 `json:"y"`
}
