package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestnetProcs runs a small testnet as separate peer processes, with a
// crash and a restart, and reads the report folder.
func TestTestnetProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs peer processes for 15 s")
	}
	dir := t.TempDir()
	out, err := exec.Command(peerBin, "testnet", "--procs", "--quiet", "--peers", "5", "--duration", "15s",
		"--profile", "local", "--rate", "4", "--publishers", "0-1", "--loss", "0.05", "--crash", "3@1s:11s",
		"--out", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("peer testnet: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != dir {
		t.Errorf("--quiet printed %q, want the report folder %q", got, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Mode           string `json:"mode"`
		Published      int    `json:"published"`
		FullyDelivered int    `json:"fully_delivered"`
		Crashes        []struct {
			Survivors, Detected int
		} `json:"crashes"`
		Restarts []struct {
			AllSeen *float64 `json:"all_see_alive"`
		} `json:"restarts"`
		InjectedFrames uint64 `json:"injected_frames"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "processes" || rep.Published < 40 || rep.FullyDelivered != rep.Published {
		t.Errorf("mode %q, %d of %d messages fully delivered", rep.Mode, rep.FullyDelivered, rep.Published)
	}
	// Detection by every survivor is the in-process scenario test's job
	// (testnet/local); with 4 survivors Lifeguard's suspicion timeout can
	// outlast the 10 s before the restart.
	if len(rep.Crashes) != 1 || rep.Crashes[0].Detected < 1 || rep.Crashes[0].Survivors != 4 {
		t.Errorf("crashes: %+v", rep.Crashes)
	}
	if len(rep.Restarts) != 1 || rep.Restarts[0].AllSeen == nil {
		t.Errorf("restart not seen by everyone: %+v", rep.Restarts)
	}
	if rep.InjectedFrames == 0 {
		t.Errorf("the workers' fault injectors judged no frames")
	}
	for _, f := range []string{"latency_cdf.png", "infection.png", "members.png", "messages.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestTestnetBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("peers: 5\nduration: 5s\nfaults:\n  loss: 1.2\n"), 0o644)
	unknown := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknown, []byte(`{"peers": 5, "duration": "5s", "publish": {"rat": 3}}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"testnet", "--scenario", bad}, "faults.loss: 1.2 is above 1", 1},
		{[]string{"testnet", "--scenario", unknown}, `unknown field "rat"`, 1},
		{[]string{"testnet", "--rate", "-3"}, "publish.rate", 2},
		{[]string{"testnet", "--crash", "3"}, "PEER@AT", 2},
		{[]string{"testnet", "--peers", "4", "--crash", "9@1s"}, "faults.crashes[0].peer", 2},
	} {
		cmd := exec.Command(peerBin, tc.args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("peer %v: exit %d, output %q; want exit %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}
