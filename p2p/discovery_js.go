//go:build js

package p2p

import "errors"

// discoveryNative stands in, in the browser build, for the DHT and mDNS
// of discovery_native.go, which a page cannot run (mDNS needs UDP
// multicast; the DHT server needs to be dialable) and which are left out
// of the build to keep the wasm small (docs/benchmarks/wasm.md). A browser
// peer joins through its seeds and bootstrap peers only.
type discoveryNative struct{}

// newDHT reports that the DHT is not in this build if it was asked for
// (it is on by default; package wasm turns it off).
func (d *discovery) newDHT() error {
	if d.p.s.dht {
		d.p.notice("the DHT is not part of the browser build; joining through seeds and bootstrap peers only")
	}
	return nil
}

func (d *discovery) startDHTAndMDNS() error {
	if d.p.s.mdns {
		return errors.New("starting mDNS: not available in a browser")
	}
	return nil
}

func (d *discovery) refreshDHT() {}
func (d *discovery) closeMDNS()  {}
func (d *discovery) closeDHT()   {}
