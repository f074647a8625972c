// Package membership is a SWIM failure detector and membership list with the
// Lifeguard refinements, written as a pure deterministic state machine.
//
// Each protocol period a member probes the next member of a shuffled
// round-robin order with a ping; if no ack comes within the probe timeout it
// asks k other members to ping-req the target on its behalf; if the period
// ends without an ack the target becomes suspect (Das, Gupta, Motivala, SWIM,
// DSN 2002). A suspect is declared dead only after a suspicion timeout scaled
// with log n; a member that hears it is suspected refutes by raising its
// incarnation number. Updates are disseminated infection-style, piggybacked
// on probes, acks, dedicated gossip frames and the gossip engine's frames,
// each about λ·log n times (over reliable links once to each of up to
// λ·log n members: Config.ReliableLinks). Lifeguard (Dadgar, Phillips, Currey,
// arXiv 1707.00788) adds a local health multiplier that stretches this
// member's probe timing when it misses nacks or must refute, nacks from
// ping-req helpers, a suspicion timeout that starts long and shrinks with
// independent confirmations, and the buddy system (a probe of a suspect
// carries the suspicion, so it can refute at once).
//
// Members join through seeds with a full-state exchange, leave gracefully
// with a signed-if-configured leave, and exchange state with a random
// member now and then (and full state with a member believed failed, so
// partitions heal). The periodic and join follow-up exchanges start with a
// digest, 8 bytes a member, and send only the entries that differ
// (Config.DigestSync): at n = 500 a whole view is about 60 KB, and two
// members of a settled group differ in a few entries if any. A member is
// answered at most once per Config.StateAnswerGap, since a request costs
// its sender a few bytes and the answer a whole view. Failed and departed members stay as tombstones for
// Config.TombstoneTicks so stale updates about them are rejected.
//
// Beyond SWIM and Lifeguard, Config.Repair (on in every profile) closes a
// gap of infection-style dissemination: an update reaches every member only
// with high probability, and a member that missed a refutation would declare
// a live member dead when its suspicion timer expires. A member receiving an
// accusation older than its knowledge answers the sender with the newer
// alive, and a member still holding a suspicion after half the minimum
// timeout reminds the suspect directly, which answers with its refutation.
// Three more extensions make the LAN profile detect a crash in about half
// memberlist's time without false failures: a fallback probe on the
// adapter's reliable path beside the ping-reqs (Config.FallbackProbe, like
// memberlist's TCP ping), an out-of-turn probe of a member that others
// suspect, which confirms a real failure or fetches a refutation within
// about a period (Config.ProbeSuspects), and a grace period in which a
// member new to the view is suspected with the long timeout and draws no
// such probe (Config.NewMemberGrace), since probes fail while a forming
// group's connections are still being set up.
//
// # Hostile members
//
// With a Config.Verifier the memberlist runs in authenticated mode, for
// open networks where any member may be hostile; without one every member
// is trusted, as in SWIM and hashicorp/memberlist (the simulator's honest
// experiments run that way). In authenticated mode an update or accusation
// is a claim to check:
//
//   - Alive and leave updates are signed by the member they are about, and
//     suspect and dead records by their accuser (AccuseSigningBytes names
//     the accuser, so one member cannot pass its accusation off as
//     another's). A record whose signature fails is dropped, counted
//     (Stats.BadSignatures) and its sender penalised (Config.Penalizer).
//   - An accusation is believed only at an incarnation the accused has
//     itself signed. About this member, a higher one is provably forged
//     (Stats.ForgedAccusations, sender penalised) and not refuted, since
//     refuting would hand the forger the incarnation counter; about another
//     member it is dropped as unproven (this member may only lag behind).
//     Refutation saturates at 2^64−1 instead of wrapping to 0.
//   - Lifeguard's confirmations count per signing accuser.
//   - A dead record from another member is a signed suspicion, not a
//     verdict: it starts or confirms a suspicion (the accused hears it and
//     refutes if alive, and this member probes it out of turn); it is a
//     verdict once two distinct members declared the member dead, or one
//     did and this member's own probe of it failed too
//     (Stats.DeadHeldAsSuspicion). This member's own timer still declares
//     dead on its own authority, so a real crash is detected as before.
//     A copy of a verdict whose declarer already counts costs no second
//     signature check.
//   - Over an overlay (Config.Neighbors, Config.LocalAccusations), a
//     suspicion goes from its accuser to the accused alone and is not
//     passed on; a suspicion backed by this member's own failed probe
//     waits the minimum timeout (times the local health multiplier), and
//     the two-declarer rule above is
//     what guards against a slow or lying accuser; a member that believes
//     a death passes on its own signed verdict. A crash then costs each
//     member about two signature checks (its two verdicts) instead of one
//     per accuser, confirmation and verdict, and a false suspicion costs
//     the group only the refutation (local_accusations.go).
//   - With Config.AliveChains a member signs, with each alive update, the
//     head of a hash chain whose links only it can compute, and a
//     refutation reveals the next link (a bump, RecBump) instead of a new
//     signature: a member that holds the signed head checks it with one
//     SHA-256. A link that does not hash to the one held is a forgery
//     (Stats.BadSignatures, sender penalised); a bump of a chain this
//     member does not hold is dropped unblamed (Stats.BumpsUnverifiable).
//     A record needing both checks costs at most 256 hashes besides the
//     signature (alive_chain.go).
//   - With Config.BatchVerdicts a member signs its own verdicts of one
//     gossip round together (RecVerdicts); a receiver checks the one
//     signature only when some entry is news, and applies each entry as
//     that declarer's dead record (verdict_batch.go). With
//     Config.DirectVerdicts a batch that arrives from its declarer's own
//     connection is applied unchecked, and checked only if it is to be
//     passed on. Another declarer's batch is passed on to a quarter of the
//     members an update goes to: the members that believe a death pass on
//     their own verdicts to every neighbour (relaySends).
//   - With Config.AskVerdicts a member that has held a suspicion of a
//     member that is not its neighbour for two periods without believing
//     it asks a neighbour for its own verdict (RecVerdictWant); the
//     neighbour answers, for members it holds dead, with its own signed
//     verdicts, at most CorrectionsPerTick answers a tick (verdict_pull.go).
//   - With Config.AnswerAccusers a member that its accuser suspects,
//     directly, answers that accuser alone (RecAnswer) and keeps its
//     incarnation, instead of a refutation every member passes on; the
//     answer counts only from the suspect's own connection. The accuser's
//     reminders (RecRemind) come a probe timeout after the suspicion and
//     then every third of the minimum timeout, each with the time its timer
//     has left; the suspect answers them, and refutes to the group only at
//     the accuser's last call, or for a relayed suspicion or a verdict. A
//     new suspicion from an accuser answered before is answered too. A
//     member's full state shows its suspects alive (answer.go).
//   - Tree push (AppendPeers) routes around a suspect only when this
//     member's own probe of it failed or two distinct members' signed
//     accusations were verified, so a member accused by one hostile member
//     stays on the gossip fast path until it refutes.
//   - Acks count only from the probe's target, its helpers or the relay's
//     target, nacks once per helper (Stats.SpoofedAcks); a ping-req is
//     served only for a member this one knows, at most two at a time per
//     requester, with its nack delay clamped (Stats.RelaysRefused).
//
// What remains possible for a single hostile member: accusing a live member
// at its current incarnation, which makes the member refute (one signed
// alive per accusation, disseminated like any update) and may be seen as a
// brief suspicion; two colluding members can declare a live member dead,
// and it refutes and rejoins as soon as it hears of it. The adapter's peer
// score (p2p) disconnects a member whose offences pile up.
//
// A closed group (Config.Admit, admit.go) also decides who is a member:
// an alive update is believed only once Admit accepts the member's
// metadata (p2p checks a certificate of the group authority there), on
// every new incarnation; a sender that is not admitted is believed only
// about itself (its own alive update), and accusations signed by a
// non-admitted accuser are not believed even when relayed
// (Stats.NotAdmitted).
//
// # Where each concern lives
//
//   - memberlist.go: the Memberlist type, New, the accessors, SetMeta, Tick
//     (which runs every timer of the other files in turn) and Step (which
//     hands each received record to its handler).
//   - member.go: the member table: the member entry and its rarely used
//     extra fields, adding and forgetting members, the live list, the
//     shuffled round-robin probe order new members are inserted into,
//     tombstones and their reaping.
//   - probe.go: "is this member answering?": probing, ping-req relays and
//     their nacks, acks, Lifeguard's local health multiplier, the
//     out-of-turn probe of a suspect (Config.ProbeSuspects).
//   - neighbors.go, silent.go and heard_skip.go: probing over an overlay
//     (Config.Neighbors): only neighbours are probed, members reported
//     unreachable out of turn, every other probe goes to the neighbour
//     heard from least recently, so a crashed neighbour is probed within a
//     few periods, and a neighbour heard from within the period is passed
//     over (Config.SkipHeardNeighbors); a ping-req helper relays only to
//     its own neighbours. heard_skip.go also ends a probe whose ack is
//     missing as answered when the target's other frames arrived after the
//     ping (Config.HeardAnswersProbe, with or without an overlay).
//   - sample.go: a bounded member list for very large groups
//     (Config.MemberSample): neighbours, members heard first-hand and a
//     reservoir sample of the rest; a newcomer not kept is not passed on,
//     so a join no longer reaches every member; accusations about members
//     outside the sample make entries of their own (ghosts, in groups
//     without a Verifier only) so that they are still checked and relayed;
//     tombstones bounded by twice the sample. sample_forgotten.go: the
//     incarnations of forgotten members, so a refuted accusation stays stale.
//   - suspicion.go: "when is a member declared dead?": the suspicion timer,
//     its confirmations (Lifeguard), the new-member grace floor, reminders
//     to the suspect (Config.Repair) and the expiry that declares it dead.
//     local_accusations.go: in authenticated mode over an overlay,
//     suspicions kept between accuser and accused, and believed verdicts
//     passed on as this member's own (Config.LocalAccusations).
//   - rules.go: "which update wins?": the precedence of alive, suspect,
//     dead and left by incarnation number, refutation of accusations about
//     this member, and the direct correction of stale accusations
//     (Config.Repair).
//   - sync.go: joining, leaving and full-state exchanges (join, follow-up
//     join syncs, periodic push-pull, reconnecting to failed members, and
//     StateFrames for tools). digest_sync.go (and digest_wire.go): the
//     digest-first exchange the follow-ups, periodic push-pulls and
//     reconnects use.
//     view_sum.go: each ping's view sum (how many members the prober lists
//     and a hash of which), and the exchange a lasting difference starts.
//     answer_limit.go: one answer per member per StateAnswerGap.
//   - broadcast.go: dissemination: the update queue's entry points,
//     piggybacking on this and other layers' frames, dedicated gossip
//     frames, sending and peer sampling.
//   - sign.go: signing this member's alive and leave updates and its
//     accusations, verifying those of others, and the offences reported to
//     Config.Penalizer.
//   - reliable.go: over reliable links, an update once per destination
//     and not back to a member that sent it, and its lifetime in the
//     queue.
//   - queue.go (the retransmission queue), wire.go (record encodings),
//     index.go (the ID → member index), peers.go (core.PeerSampler's peer
//     list), types.go (public types and Stats), config.go (Config and the
//     profiles; docs/membership-lan-profile.md gives the measurements
//     behind the LAN defaults).
//
// The Memberlist never reads a clock, never starts a goroutine and draws
// randomness only from Config.Rand: the same inputs in the same order give
// the same outputs. It is not safe for concurrent use; the owner serialises
// Tick, Step and the other methods (one goroutine or a lock).
package membership
