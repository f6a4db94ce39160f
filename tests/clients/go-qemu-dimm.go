// The DIMM lifecycle driven by a QMP client people use: DigitalOcean's
// go-qemu (Debian's golang-github-digitalocean-go-qemu-dev), unchanged.
// Its qmp.SocketMonitor does the framing, negotiation and event stream; its
// generated raw API (from QEMU's schema) types the commands whose shape has
// not changed since it was generated, and object-add/device_add go through
// Run with QEMU 7.2's flat arguments, as its users write them today.
//
//	go-qemu-dimm SOCKET
//
// Prints one line per step; exits 1 on the first failure, naming it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"github.com/digitalocean/go-qemu/qmp/raw"
)

const timeout = 60 * time.Second

func fail(format string, args ...interface{}) {
	fmt.Printf("go-qemu-dimm: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func step(format string, args ...interface{}) {
	fmt.Printf("go-qemu-dimm: "+format+"\n", args...)
}

func run(mon *qmp.SocketMonitor, cmd map[string]interface{}) []byte {
	bs, err := json.Marshal(cmd)
	if err != nil {
		fail("marshal: %v", err)
	}
	out, err := mon.Run(bs)
	if err != nil {
		fail("%s: %v", cmd["execute"], err)
	}
	return out
}

// The next event called name whose data.device (or data.info.device) is id.
func waitEvent(events <-chan qmp.Event, name, id string) qmp.Event {
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				fail("event stream closed while waiting for %s", name)
			}
			if ev.Event != name {
				continue
			}
			dev, _ := ev.Data["device"].(string)
			if info, ok := ev.Data["info"].(map[string]interface{}); ok {
				dev, _ = info["device"].(string)
			}
			if dev == id {
				return ev
			}
		case <-deadline:
			fail("no %s event for %s within %v", name, id, timeout)
		}
	}
}

func dimms(r *raw.Monitor) []raw.PcdimmDeviceInfo {
	devs, err := r.QueryMemoryDevices()
	if err != nil {
		fail("query-memory-devices: %v", err)
	}
	var out []raw.PcdimmDeviceInfo
	for _, d := range devs {
		dimm, ok := d.(raw.MemoryDeviceInfoDimm)
		if !ok {
			fail("query-memory-devices: a %T, not a DIMM", d)
		}
		out = append(out, raw.PcdimmDeviceInfo(dimm))
	}
	return out
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go-qemu-dimm SOCKET")
		os.Exit(2)
	}
	mon, err := qmp.NewSocketMonitor("unix", os.Args[1], timeout)
	if err != nil {
		fail("connect: %v", err)
	}
	if err := mon.Connect(); err != nil {
		fail("qmp_capabilities: %v", err)
	}
	defer mon.Disconnect()
	stream, err := mon.Events(context.Background())
	if err != nil {
		fail("events: %v", err)
	}
	// go-qemu delivers replies and events from one reader goroutine, so
	// an event nobody takes would hold up the next reply: drain them.
	events := make(chan qmp.Event, 4096)
	go func() {
		for ev := range stream {
			events <- ev
		}
		close(events)
	}()
	r := raw.NewMonitor(mon)

	st, err := r.QueryStatus()
	if err != nil {
		fail("query-status: %v", err)
	}
	step("query-status: %s running=%v", st.Status, st.Running)
	if st.Status != raw.RunStateRunning {
		fail("status %s, want running", st.Status)
	}

	run(mon, map[string]interface{}{"execute": "object-add",
		"arguments": map[string]interface{}{"qom-type": "memory-backend-ram",
			"id": "mem1", "size": 256 << 20}})
	run(mon, map[string]interface{}{"execute": "device_add",
		"arguments": map[string]interface{}{"driver": "pc-dimm",
			"id": "dimm1", "memdev": "mem1"}})
	ost := waitEvent(events, "ACPI_DEVICE_OST", "dimm1")
	info := ost.Data["info"].(map[string]interface{})
	step("ACPI_DEVICE_OST dimm1 source=%v status=%v", info["source"], info["status"])
	if info["source"].(float64) != 1 || info["status"].(float64) != 0 {
		fail("the guest did not accept the DIMM: %v", info)
	}

	list := dimms(r)
	if len(list) != 1 || list[0].ID == nil || *list[0].ID != "dimm1" ||
		list[0].Size != 256<<20 || list[0].Memdev != "/objects/mem1" ||
		!list[0].Hotplugged {
		fail("query-memory-devices: %+v", list)
	}
	step("query-memory-devices: dimm1 addr=%#x size=%#x slot=%d node=%d memdev=%s",
		list[0].Addr, list[0].Size, list[0].Slot, list[0].Node, list[0].Memdev)

	if err := r.DeviceDel("dimm1"); err != nil {
		fail("device_del: %v", err)
	}
	del := waitEvent(events, "DEVICE_DELETED", "dimm1")
	step("DEVICE_DELETED %v", del.Data["path"])
	if len(dimms(r)) != 0 {
		fail("dimm1 still listed after DEVICE_DELETED")
	}
	if err := r.ObjectDel("mem1"); err != nil {
		fail("object-del: %v", err)
	}
	// An error comes back as Go's error, with QEMU's text.
	if err := r.DeviceDel("dimm1"); err == nil ||
		err.Error() != "Device 'dimm1' not found" {
		fail("device_del of a deleted DIMM: %v", err)
	}
	step("device_del again: %v", r.DeviceDel("dimm1"))
	step("ok")
}
