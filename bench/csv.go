package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"time"
)

// csvHeader names the columns appendCSV writes (and ladderplot reads).
var csvHeader = []string{"n", "transport", "scenario", "payload_bytes", "system", "delivered",
	"p50_ms", "p99_ms", "max_ms", "wire_bytes_per_delivery", "stream_bytes_per_delivery",
	"cpu_ms_per_delivery", "conns_p50", "conns_max", "goroutines_per_peer", "heap_bytes_per_peer",
	"detect_s", "false_fails"}

// appendCSV appends one table row (the medians m) to path, writing the
// header first if the file is new or empty.
func appendCSV(path string, cfg config, scen string, size int, system string, m result) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		w.Write(csvHeader)
	}
	msf := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	detect := ""
	if m.detect >= 0 && (scen == "kill" || scen == "silent") {
		detect = strconv.FormatFloat(m.detect.Seconds(), 'f', 2, 64)
	}
	w.Write([]string{strconv.Itoa(cfg.n), cfg.transport, scen, strconv.Itoa(size), system, num(m.delivered),
		msf(m.p50), msf(m.p99), msf(m.max), num(m.wirePerDel), num(m.streamPerDel),
		msf(m.cpuPerDel), num(m.connsP50), num(m.connsMax), num(m.goroutines), num(m.heap),
		detect, num(m.falsePos)})
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return f.Close()
}
