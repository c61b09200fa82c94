-- Wireshark dissectors for the wire formats Sluice's switch programs speak:
--   int_md      INT-MD v2.1 over UDP (shim, INT-MD header, per-hop metadata stack)
--   int_report  Telemetry Report v2.0 over UDP (group header, individual reports, the
--               truncated original packet, which Wireshark dissects again, INT included)
--   switchml    the SwitchML header (msg type, size, job, packet id, pool index, exponents)
-- Load with: wireshark -X lua_script:sluice.lua   or   tshark -X lua_script:sluice.lua -r FILE
-- (or copy it to ~/.local/lib/wireshark/plugins/). Written by `sluice wireshark-dissector`.
-- INT-MD is found by UDP destination port 0x4568 or by DSCP 0x17 (int-md's marking, a
-- heuristic); the ports and the DSCP are preferences (Edit > Preferences > Protocols).

local INT_PORT = 0x4568        -- INT over UDP: the common placeholder destination port
local REPORT_PORT = 32766      -- Telemetry Report collector port
local SWITCHML_FIRST, SWITCHML_LAST = 0xBEE0, 0xBEEF

---------------------------------------------------------------------------------------------
-- Per-hop metadata (INT v2.1 instruction bitmap; Telemetry Report RepMdBits reuse the table,
-- except that bit 0 is reserved there and bit 15 is queue id + drop reason)
---------------------------------------------------------------------------------------------
local function md_fields(prefix)
    return {
        node_id        = ProtoField.uint32(prefix .. ".node_id", "Node ID"),
        ingress_port   = ProtoField.uint16(prefix .. ".ingress_port", "Level-1 ingress port"),
        egress_port    = ProtoField.uint16(prefix .. ".egress_port", "Level-1 egress port"),
        hop_latency    = ProtoField.uint32(prefix .. ".hop_latency", "Hop latency"),
        queue_id       = ProtoField.uint32(prefix .. ".queue_id", "Queue ID", base.DEC, nil, 0xFF000000),
        queue_occupancy = ProtoField.uint32(prefix .. ".queue_occupancy", "Queue occupancy", base.DEC, nil, 0x00FFFFFF),
        ingress_ts     = ProtoField.uint64(prefix .. ".ingress_timestamp", "Ingress timestamp"),
        egress_ts      = ProtoField.uint64(prefix .. ".egress_timestamp", "Egress timestamp"),
        l2_ingress     = ProtoField.uint32(prefix .. ".l2_ingress", "Level-2 ingress interface"),
        l2_egress      = ProtoField.uint32(prefix .. ".l2_egress", "Level-2 egress interface"),
        tx_util        = ProtoField.uint32(prefix .. ".tx_utilization", "Egress port tx utilization"),
        buffer_id      = ProtoField.uint32(prefix .. ".buffer_id", "Buffer ID", base.DEC, nil, 0xFF000000),
        buffer_occupancy = ProtoField.uint32(prefix .. ".buffer_occupancy", "Buffer occupancy", base.DEC, nil, 0x00FFFFFF),
        reserved       = ProtoField.bytes(prefix .. ".reserved", "Reserved metadata"),
        checksum       = ProtoField.uint32(prefix .. ".checksum_complement", "Checksum complement", base.HEX),
        drop_queue_id  = ProtoField.uint32(prefix .. ".drop_queue_id", "Queue ID", base.DEC, nil, 0xFF000000),
        drop_reason    = ProtoField.uint32(prefix .. ".drop_reason", "Drop reason", base.DEC, nil, 0x00FF0000),
    }
end

-- Bytes of metadata the bitmap asks for: bits 4, 5, 6 are 8 bytes, every other set bit 4.
local function md_bytes(bitmap)
    local n = 0
    for bit_index = 0, 15 do
        if bit.band(bitmap, bit.lshift(1, 15 - bit_index)) ~= 0 then
            n = n + ((bit_index >= 4 and bit_index <= 6) and 8 or 4)
        end
    end
    return n
end

-- Adds the metadata `bitmap` asks for at `offset`; returns the offset after it, or nil when
-- the buffer is too short.
local function add_metadata(tree, f, tvb, offset, bitmap, report_bits)
    if offset + md_bytes(bitmap) > tvb:len() then return nil end
    local o = offset
    local function has(mask) return bit.band(bitmap, mask) ~= 0 end
    if has(0x8000) then
        if report_bits then tree:add(f.reserved, tvb(o, 4)) else tree:add(f.node_id, tvb(o, 4)) end
        o = o + 4
    end
    if has(0x4000) then tree:add(f.ingress_port, tvb(o, 2)); tree:add(f.egress_port, tvb(o + 2, 2)); o = o + 4 end
    if has(0x2000) then tree:add(f.hop_latency, tvb(o, 4)); o = o + 4 end
    if has(0x1000) then tree:add(f.queue_id, tvb(o, 4)); tree:add(f.queue_occupancy, tvb(o, 4)); o = o + 4 end
    if has(0x0800) then tree:add(f.ingress_ts, tvb(o, 8)); o = o + 8 end
    if has(0x0400) then tree:add(f.egress_ts, tvb(o, 8)); o = o + 8 end
    if has(0x0200) then tree:add(f.l2_ingress, tvb(o, 4)); tree:add(f.l2_egress, tvb(o + 4, 4)); o = o + 8 end
    if has(0x0100) then tree:add(f.tx_util, tvb(o, 4)); o = o + 4 end
    if has(0x0080) then tree:add(f.buffer_id, tvb(o, 4)); tree:add(f.buffer_occupancy, tvb(o, 4)); o = o + 4 end
    for _, mask in ipairs({ 0x0040, 0x0020, 0x0010, 0x0008, 0x0004, 0x0002 }) do   -- reserved bits 9-14
        if has(mask) then tree:add(f.reserved, tvb(o, 4)); o = o + 4 end
    end
    if has(0x0001) then
        if report_bits then tree:add(f.drop_queue_id, tvb(o, 4)); tree:add(f.drop_reason, tvb(o, 4))
        else tree:add(f.checksum, tvb(o, 4)) end
        o = o + 4
    end
    return o
end

---------------------------------------------------------------------------------------------
-- INT-MD over UDP
---------------------------------------------------------------------------------------------
local int_md = Proto("int_md", "In-band Network Telemetry (INT-MD v2.1)")
local shim_types = { [1] = "INT-MD", [2] = "INT-Destination", [3] = "INT-MX" }
local npt_names = { [0] = "original DSCP", [1] = "original UDP port", [2] = "original IP protocol" }
local fi = {
    shim_type   = ProtoField.uint8("int_md.shim.type", "Shim type", base.DEC, shim_types, 0xF0),
    shim_npt    = ProtoField.uint8("int_md.shim.npt", "Next protocol type", base.DEC, npt_names, 0x0C),
    shim_length = ProtoField.uint8("int_md.shim.length", "Length (words)"),
    shim_dscp   = ProtoField.uint8("int_md.shim.dscp", "Original DSCP", base.HEX, nil, 0xFC),
    shim_port   = ProtoField.uint16("int_md.shim.original_port", "Original UDP destination port"),
    shim_proto  = ProtoField.uint8("int_md.shim.original_protocol", "Original IP protocol"),
    version     = ProtoField.uint32("int_md.version", "Version", base.DEC, nil, 0xF0000000),
    d           = ProtoField.uint32("int_md.d", "Discard", base.DEC, nil, 0x08000000),
    e           = ProtoField.uint32("int_md.e", "Max hop count exceeded", base.DEC, nil, 0x04000000),
    m           = ProtoField.uint32("int_md.m", "MTU exceeded", base.DEC, nil, 0x02000000),
    hop_ml      = ProtoField.uint32("int_md.hop_ml", "Per-hop metadata length (words)", base.DEC, nil, 0x00001F00),
    rhc         = ProtoField.uint32("int_md.rhc", "Remaining hop count", base.DEC, nil, 0x000000FF),
    bitmap      = ProtoField.uint16("int_md.instruction_bitmap", "Instruction bitmap", base.HEX),
    domain      = ProtoField.uint16("int_md.domain_id", "Domain specific ID"),
    ds_instr    = ProtoField.uint16("int_md.ds_instruction", "DS instruction", base.HEX),
    ds_flags    = ProtoField.uint16("int_md.ds_flags", "DS flags", base.HEX),
    hops        = ProtoField.uint8("int_md.hops", "Hops on the stack"),
}
local hop = md_fields("int_md.hop")
local int_fields = {}
for _, v in pairs(fi) do table.insert(int_fields, v) end
for _, v in pairs(hop) do table.insert(int_fields, v) end
int_md.fields = int_fields
int_md.prefs.udp_port = Pref.uint("UDP port", INT_PORT, "UDP destination port that marks INT-MD")
int_md.prefs.dscp = Pref.uint("DSCP", 0x17, "DSCP that marks INT over UDP or TCP (0-63; 64 or more: off)")
local e_int = ProtoExpert.new("int_md.malformed", "Malformed INT-MD", expert.group.MALFORMED, expert.severity.ERROR)
int_md.experts = { e_int }

function int_md.dissector(tvb, pinfo, tree)
    if tvb:len() < 4 then return 0 end
    pinfo.cols.protocol = "INT-MD"
    local length = tvb(1, 1):uint()
    local t = tree:add(int_md, tvb(0, math.min(tvb:len(), 4 + 4 * length)))
    t:add(fi.shim_type, tvb(0, 1))
    t:add(fi.shim_npt, tvb(0, 1))
    t:add(fi.shim_length, tvb(1, 1))
    local npt = bit.rshift(bit.band(tvb(0, 1):uint(), 0x0C), 2)
    if npt == 0 then t:add(fi.shim_dscp, tvb(3, 1))
    elseif npt == 1 then t:add(fi.shim_port, tvb(2, 2))
    else t:add(fi.shim_proto, tvb(3, 1)) end
    local shim_type = bit.rshift(tvb(0, 1):uint(), 4)
    if shim_type ~= 1 and shim_type ~= 3 then return 4 end
    if tvb:len() < 16 or 4 * length < 12 then t:add_proto_expert_info(e_int, "shorter than the INT-MD header"); return tvb:len() end
    t:add(fi.version, tvb(4, 4)); t:add(fi.d, tvb(4, 4)); t:add(fi.e, tvb(4, 4)); t:add(fi.m, tvb(4, 4))
    t:add(fi.hop_ml, tvb(4, 4)); t:add(fi.rhc, tvb(4, 4))
    t:add(fi.bitmap, tvb(8, 2)); t:add(fi.domain, tvb(10, 2))
    t:add(fi.ds_instr, tvb(12, 2)); t:add(fi.ds_flags, tvb(14, 2))
    local end_offset = 4 + 4 * length
    if shim_type == 3 then return 16 end
    local hop_bytes = 4 * bit.rshift(bit.band(tvb(4, 4):uint(), 0x1F00), 8)
    local bitmap = tvb(8, 2):uint()
    local stack = 4 * length - 12
    if end_offset > tvb:len() then t:add_proto_expert_info(e_int, "stack runs past the packet"); return tvb:len() end
    if stack > 0 and (hop_bytes == 0 or stack % hop_bytes ~= 0 or md_bytes(bitmap) > hop_bytes) then
        t:add_proto_expert_info(e_int, "stack is not a whole number of hops of HopML words")
        return end_offset
    end
    local n = stack > 0 and stack / hop_bytes or 0
    t:add(fi.hops, n):set_generated()
    for i = 0, n - 1 do
        local o = 16 + i * hop_bytes
        local h = t:add(int_md, tvb(o, hop_bytes), "Hop " .. (n - i) .. " (stack entry " .. i .. ")")
        add_metadata(h, hop, tvb, o, bitmap, false)
    end
    pinfo.cols.info:append(" INT-MD " .. n .. " hops")
    if end_offset < tvb:len() then
        Dissector.get("data"):call(tvb(end_offset):tvb(), pinfo, tree)
    end
    return tvb:len()
end

-- INT marked by DSCP (int-md's way; the UDP ports stay the flow's own): a heuristic on UDP
-- payloads whose innermost IPv4 header carries the DSCP and that start with an INT-MD shim
-- and a version 2 header. Wireshark tries heuristics after the port dissectors; a flow on a
-- port some dissector claims needs -o udp.try_heuristic_first:TRUE.
local ip_dscp = Field.new("ip.dsfield.dscp")
local function int_by_dscp(tvb, pinfo, tree)
    if int_md.prefs.dscp > 63 or tvb:len() < 16 then return false end
    local marks = { ip_dscp() }
    if #marks == 0 or marks[#marks].value ~= int_md.prefs.dscp then return false end
    if bit.rshift(tvb(0, 1):uint(), 4) ~= 1 or bit.rshift(tvb(4, 1):uint(), 4) ~= 2 then return false end
    int_md.dissector(tvb, pinfo, tree)
    return true
end
int_md:register_heuristic("udp", int_by_dscp)

---------------------------------------------------------------------------------------------
-- Telemetry Report v2.0
---------------------------------------------------------------------------------------------
local int_report = Proto("int_report", "Telemetry Report v2.0")
local rep_types = { [0] = "inner only", [1] = "INT", [2] = "IOAM" }
local in_types = { [0] = "none", [1] = "TLV", [2] = "domain specific extension", [3] = "Ethernet", [4] = "IPv4", [5] = "IPv6" }
local fr = {
    version  = ProtoField.uint32("int_report.version", "Version", base.DEC, nil, 0xF0000000),
    hw_id    = ProtoField.uint32("int_report.hw_id", "Hardware ID", base.DEC, nil, 0x0FC00000),
    seq      = ProtoField.uint32("int_report.seq", "Sequence number", base.DEC, nil, 0x003FFFFF),
    node_id  = ProtoField.uint32("int_report.node_id", "Node ID"),
    rep_type = ProtoField.uint32("int_report.rep_type", "Report type", base.DEC, rep_types, 0xF0000000),
    in_type  = ProtoField.uint32("int_report.in_type", "Inner type", base.DEC, in_types, 0x0F000000),
    rep_len  = ProtoField.uint32("int_report.report_length", "Report length (words)", base.DEC, nil, 0x00FF0000),
    md_len   = ProtoField.uint32("int_report.md_length", "Metadata length (words)", base.DEC, nil, 0x0000FF00),
    d        = ProtoField.uint32("int_report.d", "Dropped", base.DEC, nil, 0x00000080),
    q        = ProtoField.uint32("int_report.q", "Congested queue", base.DEC, nil, 0x00000040),
    f        = ProtoField.uint32("int_report.f", "Tracked flow", base.DEC, nil, 0x00000020),
    i        = ProtoField.uint32("int_report.i", "Intermediate", base.DEC, nil, 0x00000010),
    md_bits  = ProtoField.uint16("int_report.rep_md_bits", "Report metadata bits", base.HEX),
    domain   = ProtoField.uint16("int_report.domain_id", "Domain specific ID"),
    ds_bits  = ProtoField.uint16("int_report.ds_md_bits", "DS metadata bits", base.HEX),
    ds_status = ProtoField.uint16("int_report.ds_md_status", "DS metadata status", base.HEX),
}
local rmd = md_fields("int_report.md")
local report_fields = {}
for _, v in pairs(fr) do table.insert(report_fields, v) end
for _, v in pairs(rmd) do table.insert(report_fields, v) end
int_report.fields = report_fields
int_report.prefs.udp_port = Pref.uint("UDP port", REPORT_PORT, "UDP destination port of the collector")
local e_rep = ProtoExpert.new("int_report.malformed", "Malformed telemetry report", expert.group.MALFORMED, expert.severity.ERROR)
int_report.experts = { e_rep }

function int_report.dissector(tvb, pinfo, tree)
    if tvb:len() < 8 then return 0 end
    pinfo.cols.protocol = "INT report"
    local t = tree:add(int_report, tvb())
    t:add(fr.version, tvb(0, 4)); t:add(fr.hw_id, tvb(0, 4)); t:add(fr.seq, tvb(0, 4)); t:add(fr.node_id, tvb(4, 4))
    pinfo.cols.info = "Telemetry report node " .. tvb(4, 4):uint() .. " seq " .. bit.band(tvb(0, 4):uint(), 0x3FFFFF)
    local o = 8
    while o + 4 <= tvb:len() do
        local w = tvb(o, 4):uint()
        local rep_type = bit.rshift(w, 28)
        local in_type = bit.band(bit.rshift(w, 24), 0xF)
        local rlen = bit.band(bit.rshift(w, 16), 0xFF)
        local mdlen = bit.band(bit.rshift(w, 8), 0xFF)
        local stop = (rlen == 0xFF) and tvb:len() or (o + 4 + 4 * rlen)
        if stop > tvb:len() then
            local r = t:add(int_report, tvb(o), "Individual report")
            r:add_proto_expert_info(e_rep, "report length runs past the packet")
            return tvb:len()
        end
        local r = t:add(int_report, tvb(o, stop - o), "Individual report")
        r:add(fr.rep_type, tvb(o, 4)); r:add(fr.in_type, tvb(o, 4)); r:add(fr.rep_len, tvb(o, 4)); r:add(fr.md_len, tvb(o, 4))
        r:add(fr.d, tvb(o, 4)); r:add(fr.q, tvb(o, 4)); r:add(fr.f, tvb(o, 4)); r:add(fr.i, tvb(o, 4))
        local inner = o + 4
        if rep_type == 1 then
            if inner + 8 + 4 * mdlen > stop then r:add_proto_expert_info(e_rep, "metadata runs past the report"); return tvb:len() end
            r:add(fr.md_bits, tvb(inner, 2)); r:add(fr.domain, tvb(inner + 2, 2))
            r:add(fr.ds_bits, tvb(inner + 4, 2)); r:add(fr.ds_status, tvb(inner + 6, 2))
            if mdlen > 0 then
                local m = r:add(int_report, tvb(inner + 8, 4 * mdlen), "Reporting node's metadata")
                add_metadata(m, rmd, tvb, inner + 8, tvb(inner, 2):uint(), true)
            end
            inner = inner + 8 + 4 * mdlen
        end
        if inner < stop then
            local sub = tvb(inner, stop - inner):tvb()
            if in_type == 3 then Dissector.get("eth_withoutfcs"):call(sub, pinfo, tree)
            elseif in_type == 4 then Dissector.get("ip"):call(sub, pinfo, tree)
            elseif in_type == 5 then Dissector.get("ipv6"):call(sub, pinfo, tree)
            else Dissector.get("data"):call(sub, pinfo, tree) end
        end
        o = stop
    end
    return tvb:len()
end

---------------------------------------------------------------------------------------------
-- SwitchML
---------------------------------------------------------------------------------------------
local switchml = Proto("switchml", "SwitchML in-network aggregation")
local msg_types = { [0] = "update", [1] = "result" }
local sizes = { [0] = "32 values (128 B)", [1] = "64 values (256 B)", [2] = "128 values (512 B)", [3] = "256 values (1024 B)" }
local fs = {
    msg_type = ProtoField.uint8("switchml.msg_type", "Message type", base.DEC, msg_types, 0xF0),
    size     = ProtoField.uint8("switchml.size", "Size", base.DEC, sizes, 0x07),
    job      = ProtoField.uint8("switchml.job", "Job"),
    pkt_id   = ProtoField.uint32("switchml.pkt_id", "Packet ID"),
    set      = ProtoField.uint16("switchml.set", "Pool set (shadow copy)", base.DEC, nil, 0x8000),
    slot     = ProtoField.uint16("switchml.slot", "Pool slot", base.DEC, nil, 0x3FFF),
    e0       = ProtoField.uint8("switchml.exponent0", "Exponent 0"),
    e1       = ProtoField.uint8("switchml.exponent1", "Exponent 1"),
    values   = ProtoField.uint16("switchml.values", "Values"),
    value    = ProtoField.int32("switchml.value", "Value"),
}
local sml_fields = {}
for _, v in pairs(fs) do table.insert(sml_fields, v) end
switchml.fields = sml_fields

function switchml.dissector(tvb, pinfo, tree)
    if tvb:len() < 10 then return 0 end
    pinfo.cols.protocol = "SwitchML"
    local t = tree:add(switchml, tvb())
    t:add(fs.msg_type, tvb(0, 1)); t:add(fs.size, tvb(0, 1)); t:add(fs.job, tvb(1, 1)); t:add(fs.pkt_id, tvb(2, 4))
    t:add(fs.set, tvb(6, 2)); t:add(fs.slot, tvb(6, 2)); t:add(fs.e0, tvb(8, 1)); t:add(fs.e1, tvb(9, 1))
    local n = math.floor((tvb:len() - 10) / 4)
    t:add(fs.values, n):set_generated()
    for i = 0, n - 1 do t:add(fs.value, tvb(10 + 4 * i, 4)) end
    local kind = msg_types[bit.rshift(tvb(0, 1):uint(), 4)] or "type " .. bit.rshift(tvb(0, 1):uint(), 4)
    pinfo.cols.info = "SwitchML " .. kind .. " job " .. tvb(1, 1):uint() .. " pkt " .. tvb(2, 4):uint() ..
        " slot " .. bit.band(tvb(6, 2):uint(), 0x3FFF) .. " (" .. n .. " values)"
    return tvb:len()
end

---------------------------------------------------------------------------------------------
-- Registration (re-done when a port preference changes)
---------------------------------------------------------------------------------------------
local udp = DissectorTable.get("udp.port")
local registered = {}
local function register()
    for port, proto in pairs(registered) do udp:remove(port, proto) end
    registered = {}
    registered[int_md.prefs.udp_port] = int_md
    registered[int_report.prefs.udp_port] = int_report
    for port, proto in pairs(registered) do udp:add(port, proto) end
end
function int_md.prefs_changed() register() end
function int_report.prefs_changed() register() end
register()
for port = SWITCHML_FIRST, SWITCHML_LAST do udp:add(port, switchml) end
