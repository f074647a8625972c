//go:build js && wasm

package wasm

// ResourceStats returns what the tab's resource manager refused and the
// memory it has reserved now (TabLimits).
func (n *Node) ResourceStats() ResourceStats {
	if rm, ok := n.host.rcmgr.(*tabResourceManager); ok {
		return rm.stats()
	}
	return ResourceStats{}
}
