#!/usr/bin/env python3
"""Drives `sluice attach --p4runtime` with p4runtime-shell, as a P4Runtime controller would.

    drive.py ADDR routes DIR    ipv4-router from DIR/ipv4-router.{p4info.txt,json}: routes in,
                                read back, a duplicate and a missing delete, a backup refused
    drive.py ADDR acl DIR       acl-firewall from DIR/acl-firewall.{p4info.txt,json}: a route and
                                an ACL entry (UDP allowed) with a direct counter
    drive.py ADDR counters DIR  the ACL entry's direct counter
    drive.py ADDR writes DIR    the ACL entry's direct counter set, then ROLLBACK_ON_ERROR and
                                DATAPLANE_ATOMIC batches that fail: their errors, and what a
                                read shows after them
    drive.py ADDR digests DIR   l2-switch from DIR/l2-switch.{p4info.txt,json} with its `learn`
                                digest configured; "ready" on standard error, then the first
                                digest list's members (up to 20 seconds)
    drive.py ADDR packet_io DIR OUT IN  punt from DIR/punt.{p4info.txt,json}: a PacketOut of the
                                frame OUT (hex) to port 2; "ready" on standard error; then the
                                PacketIns until one carries the frame IN (hex), up to 20 seconds

Prints one JSON object on standard output; AttachP4RuntimeTests (SluicePcapTests) checks it.
"""
import json
import sys
import time

import grpc
import p4runtime_sh.shell as sh
from p4runtime_sh.p4runtime import P4RuntimeClient, P4RuntimeWriteException
from p4.v1 import p4runtime_pb2
from google.rpc import code_pb2

addr, mode, folder = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}


def code_name(n):
    return code_pb2._CODE.values_by_number[n].name


def write_error(f):
    """The canonical codes and messages of a failed write's updates."""
    try:
        f()
        return None
    except P4RuntimeWriteException as e:
        return [[code_name(err.canonical_code), err.message] for _, err in e.errors]


def batch_error(f):
    """A failed batch's errors as [index, code, message] (the OK ones left out)."""
    try:
        f()
        return None
    except P4RuntimeWriteException as e:
        return [[i, code_name(err.canonical_code), err.message] for i, err in e.errors]
    except grpc.RpcError as e:
        # Refused as a whole (DATAPLANE_ATOMIC on XDP): no update index.
        return [[-1, e.code().name, e.details()]]


def acl_entry():
    acl = sh.TableEntry("acl")(action="allow")
    acl.match["hdr.ipv4.protocol"] = "17&&&0xff"
    acl.priority = 10
    return acl


def acl_counter():
    c = sh.DirectCounterEntry("acl")
    c.table_entry = acl_entry()
    return c


def counts():
    return [[e.msg().data.packet_count, e.msg().data.byte_count] for e in sh.DirectCounterEntry("acl").read()]


def route(prefix, mac, port):
    te = sh.TableEntry("ipv4_lpm")(action="ipv4_forward")
    te.match["hdr.ipv4.dstAddr"] = prefix
    te.action["dstAddr"] = mac
    te.action["port"] = str(port)
    return te


if mode == "routes":
    config = sh.FwdPipeConfig(folder + "/ipv4-router.p4info.txt", folder + "/ipv4-router.json")
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 10), config=config, verbose=False)
    route("10.0.2.0/24", "02:00:00:00:00:0b", 2).insert()
    route("10.0.1.0/24", "02:00:00:00:00:0a", 1).insert()
    out["duplicate"] = write_error(lambda: route("10.0.2.0/24", "02:00:00:00:00:0b", 2).insert())
    out["missing_delete"] = write_error(lambda: route("10.0.9.0/24", "02:00:00:00:00:0b", 2).delete())
    rows = []
    for e in sh.TableEntry("ipv4_lpm").read():
        m = e.msg()
        rows.append({
            "prefix": m.match[0].lpm.value.hex(), "prefix_len": m.match[0].lpm.prefix_len,
            "action": m.action.action.action_id,
            "params": [p.value.hex() for p in m.action.action.params],
        })
    out["routes"] = sorted(rows, key=lambda r: r["prefix"])
    # A second controller with a lower election id is a backup: its write is refused.
    backup = P4RuntimeClient(1, addr, (0, 5))
    req = p4runtime_pb2.WriteRequest()
    update = req.updates.add()
    update.type = p4runtime_pb2.Update.DELETE
    update.entity.table_entry.CopyFrom(route("10.0.2.0/24", "02:00:00:00:00:0b", 2).msg())
    try:
        backup.write(req)
        out["backup_write"] = "OK"
    except grpc.RpcError as e:
        out["backup_write"] = [e.code().name, e.details()]
    backup.tear_down()
    out["entries_after"] = len(list(sh.TableEntry("ipv4_lpm").read()))
elif mode == "acl":
    config = sh.FwdPipeConfig(folder + "/acl-firewall.p4info.txt", folder + "/acl-firewall.json")
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 10), config=config, verbose=False)
    route("10.0.2.0/24", "02:00:00:00:00:0b", 2).insert()
    acl_entry().insert()
    out["acl_entries"] = len(list(sh.TableEntry("acl").read()))
elif mode == "counters":
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 10), verbose=False)
    out["counters"] = [{"packets": e.msg().data.packet_count, "bytes": e.msg().data.byte_count}
                       for e in sh.DirectCounterEntry("acl").read()]
elif mode == "writes":
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 10), verbose=False)
    c = acl_counter()
    c.packet_count = 1000
    c.byte_count = 64000
    c.modify()
    out["written"] = counts()
    # A batch that adds a route and zeroes the counter, then fails on a duplicate route: nothing
    # of it stays, in either all-or-none mode.
    for name, atomicity in [("rollback", p4runtime_pb2.WriteRequest.ROLLBACK_ON_ERROR),
                            ("dataplane_atomic", p4runtime_pb2.WriteRequest.DATAPLANE_ATOMIC)]:
        req = p4runtime_pb2.WriteRequest()
        req.atomicity = atomicity
        for kind, entity in [(p4runtime_pb2.Update.INSERT, route("10.0.3.0/24", "02:00:00:00:00:0c", 3)),
                             (p4runtime_pb2.Update.MODIFY, acl_counter()(packet_count=0, byte_count=0)),
                             (p4runtime_pb2.Update.INSERT, route("10.0.2.0/24", "02:00:00:00:00:0b", 2))]:
            u = req.updates.add()
            u.type = kind
            getattr(u.entity, entity._entity_type.name).CopyFrom(entity.msg())
        out[name] = batch_error(lambda: sh.client.write(req))
    out["routes_after"] = sorted(e.msg().match[0].lpm.value.hex() for e in sh.TableEntry("ipv4_lpm").read())
    out["counts_after"] = counts()
elif mode == "digests":
    config = sh.FwdPipeConfig(folder + "/l2-switch.p4info.txt", folder + "/l2-switch.json")
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 10), config=config, verbose=False)
    sh.DigestEntry("learn").insert()
    print("ready", file=sys.stderr, flush=True)
    learnt = []
    deadline = time.time() + 20
    while time.time() < deadline and not learnt:
        msg = sh.client.get_stream_packet("digest", timeout=1)
        if msg is None:
            continue
        learnt = [[m.bitstring.hex() for m in d.struct.members] for d in msg.digest.data]
    out["learnt"] = learnt
elif mode == "packet_io":
    config = sh.FwdPipeConfig(folder + "/punt.p4info.txt", folder + "/punt.json")
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 10), config=config, verbose=False)
    sh.PacketOut(bytes.fromhex(sys.argv[4]), egress_port="2").send()
    print("ready", file=sys.stderr, flush=True)
    wanted, seen, found = bytes.fromhex(sys.argv[5]), 0, None
    deadline = time.time() + 20
    while time.time() < deadline and found is None:
        msg = sh.client.get_stream_packet("packet", timeout=1)
        if msg is None:
            continue
        seen += 1
        if msg.packet.payload == wanted:
            found = {"payload": msg.packet.payload.hex(),
                     "metadata": sorted([m.metadata_id, m.value.hex()] for m in msg.packet.metadata)}
    out["packet_in"] = found
    out["packet_ins"] = seen
else:
    sys.exit("unknown mode " + mode)
sh.teardown()
print(json.dumps(out))
